"""A small project on disk for definition tests; no cloud, no CDK."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests_support import GOOD_ENVIRONMENT

ProjectFactory = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """Write envctl.yaml plus the given environment and template files; return the root."""

    def make(environments: dict[str, str] | None = None,
             templates: dict[str, str] | None = None,
             settings: str = "region: us-east-1\n") -> Path:
        root = tmp_path / "project"
        (root / "environments").mkdir(parents=True, exist_ok=True)
        (root / "templates").mkdir(exist_ok=True)
        (root / "envctl.yaml").write_text(settings)
        for name, text in (environments or {"sd-box": GOOD_ENVIRONMENT}).items():
            (root / "environments" / f"{name}.yaml").write_text(text)
        for name, text in (templates or {}).items():
            (root / "templates" / f"{name}.yaml").write_text(text)
        return root

    return make
