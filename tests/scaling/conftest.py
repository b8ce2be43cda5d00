"""Scale and move tests run against the session's sandbox; no client reaches a metadata service."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def no_metadata_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
