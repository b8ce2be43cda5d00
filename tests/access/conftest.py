"""Access tests: their own home folder, recording programs on PATH, and the sandbox cloud."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from access_support import ENVIRONMENT, PUBLIC_KEY, Recorders

from envctl.sandbox import Sandbox
from envctl.sandbox.record import write_record


@pytest.fixture(autouse=True)
def home(home: Path) -> Path:
    """Give every access test the empty HOME from tests/conftest.py."""
    return home


@pytest.fixture
def recorders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Recorders:
    """A folder first on PATH for recording programs (editors, ssh)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}:{Path('/usr/bin')}:{Path('/bin')}")
    return Recorders(folder)


@pytest.fixture
def settings_file(home: Path, settings_file: Callable[[str], Path]) -> Callable[[str], Path]:
    """Write ~/.config/envctl/config.yaml, with the public key file it may name."""

    def write(text: str) -> Path:
        key = home / ".ssh" / "id_ed25519.pub"
        key.parent.mkdir(exist_ok=True, mode=0o700)
        key.write_text(PUBLIC_KEY + "\n")
        return settings_file(text)

    return write


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with the sd-box environment (owner alice), no cloud attached."""
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / "envctl.yaml").write_text("region: us-east-1\n")
    (root / "environments" / "sd-box.yaml").write_text(ENVIRONMENT)
    return root


@pytest.fixture
def cloud_project(project: Path, fresh_cloud: Sandbox) -> Path:
    """The project on an empty sandbox cloud, where `envctl --sandbox` finds it."""
    write_record(project, fresh_cloud)
    return project
