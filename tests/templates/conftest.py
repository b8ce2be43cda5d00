"""Template tests: a home folder of their own and a small project on disk; no cloud."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

ProjectFactory = Callable[..., Path]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME at an empty folder, so no test reads or writes the real user's settings."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return folder


@pytest.fixture
def settings_file(home: Path) -> Callable[[str], Path]:
    """Write the user's settings file, ~/.config/envctl/config.yaml."""

    def write(text: str) -> Path:
        path = home / ".config" / "envctl" / "config.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return write


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """Write envctl.yaml plus the given environment and template files; return the root."""

    def make(environments: dict[str, str] | None = None,
             templates: dict[str, str] | None = None) -> Path:
        root = tmp_path / "project"
        (root / "environments").mkdir(parents=True, exist_ok=True)
        (root / "templates").mkdir(exist_ok=True)
        (root / "envctl.yaml").write_text("region: us-east-1\n")
        for name, text in (environments or {}).items():
            (root / "environments" / f"{name}.yaml").write_text(text)
        for name, text in (templates or {}).items():
            (root / "templates" / f"{name}.yaml").write_text(text)
        return root

    return make
