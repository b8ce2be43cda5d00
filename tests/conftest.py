"""Fixtures shared by every test folder: the sandbox cloud (moto and OpenBao on 127.0.0.1), an
empty home folder, and small projects written to disk."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests_support import GOOD_ENVIRONMENT

from envctl.sandbox import Sandbox, down, reset_cloud, up

# Each pytest-xdist worker unpacks the offline provider and fills a plugin cache of its own,
# because Terraform's plugin cache is unsafe for two processes installing into it at once.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER and "ENVCTL_CACHE_DIR" not in os.environ:
    os.environ["ENVCTL_CACHE_DIR"] = str(Path.home() / ".cache" / "envctl" / f"test-{_WORKER}")


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """Start moto and an OpenBao dev server once per test session; stop them at the end.

    Cost: two background processes, a few seconds to start and about 300 MB of memory,
    paid by the first test that requests it. State is shared by every test in the session;
    ask for fresh_cloud to start a test from an empty AWS account.
    """
    root = tmp_path_factory.mktemp("sandbox")
    started = up(root)
    yield started
    down(root)


@pytest.fixture
def fresh_cloud(sandbox: Sandbox) -> Sandbox:
    """Return the session sandbox after dropping every AWS resource that earlier tests made.

    The seeded images and SSM public parameters remain. Vault is not reset. Point clients at
    it explicitly: boto3.client("ec2", **fresh_cloud.client_settings()), or pass
    fresh_cloud.environment() to a child process.
    """
    reset_cloud(sandbox)
    return sandbox


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME at an empty folder, so no test reads or writes the real ~/.ssh or settings.

    A folder whose every test needs it makes it autouse in its own conftest.
    """
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
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
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Write envctl.yaml plus the given environment and template files under tmp_path/project,
    and return the root. Without environments it writes GOOD_ENVIRONMENT as sd-box."""

    def make(environments: dict[str, str] | None = None,
             templates: dict[str, str] | None = None,
             settings: str = "region: us-east-1\n") -> Path:
        root = tmp_path / "project"
        (root / "environments").mkdir(parents=True, exist_ok=True)
        (root / "templates").mkdir(exist_ok=True)
        (root / "envctl.yaml").write_text(settings)
        if environments is None:
            environments = {"sd-box": GOOD_ENVIRONMENT}
        for name, text in environments.items():
            (root / "environments" / f"{name}.yaml").write_text(text)
        for name, text in (templates or {}).items():
            (root / "templates" / f"{name}.yaml").write_text(text)
        return root

    return make
