"""Lifecycle tests: a copy of the examples project attached to the session's sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from lifecycle_support import attach_sandbox, copy_examples

from envctl.definitions.loader import load_project
from envctl.sandbox import Sandbox
from envctl.workspace import Workspace, open_workspace


@pytest.fixture(autouse=True)
def no_metadata_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def project(tmp_path: Path, fresh_cloud: Sandbox) -> Path:
    """A copy of the examples on an empty cloud, where `envctl --sandbox` finds the sandbox."""
    root = copy_examples(tmp_path / "project")
    attach_sandbox(root, fresh_cloud)
    return root


@pytest.fixture
def workspace(project: Path, fresh_cloud: Sandbox) -> Workspace:
    return open_workspace(load_project(project), sandbox=True, running=fresh_cloud)
