"""Fixtures for the secrets tests: the session sandbox's OpenBao, a project with its own KV
mount, and the CLI aimed at both."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from secrets_support import secrets_project

from envctl.cli.main import cli
from envctl.definitions.loader import load_project
from envctl.sandbox import Sandbox
from envctl.secrets.vault import Vault, target_for
from envctl.workspace import Workspace, open_workspace

CliInvoker = Callable[..., Result]


@pytest.fixture
def project_root(tmp_path: Path, sandbox: Sandbox) -> Path:
    """A copy of the examples whose secrets live in a KV mount of their own. Its sandbox
    record points at the session sandbox, so `--sandbox` commands find it."""
    from envctl.sandbox.record import write_record

    root = secrets_project(tmp_path / "project")
    write_record(root, sandbox)
    return root


@pytest.fixture
def workspace(project_root: Path, sandbox: Sandbox) -> Workspace:
    return open_workspace(load_project(project_root), sandbox=True, running=sandbox)


@pytest.fixture
def vault(workspace: Workspace) -> Vault:
    """envctl's own client for the sandbox Vault, logged in with the root token."""
    target = target_for(workspace)
    assert target is not None
    return Vault(target)


@pytest.fixture
def root_client(vault: Vault) -> Any:
    return vault.client


@pytest.fixture
def envctl(project_root: Path, sandbox: Sandbox) -> CliInvoker:
    """Run `envctl --project ROOT ARGS... --sandbox` with a clean Vault environment."""

    def invoke(*args: str, input: str | bytes | None = None, owner: str = "bob") -> Result:
        environment = {"ENVCTL_OWNER": owner, "VAULT_ADDR": None, "VAULT_TOKEN": None}
        return CliRunner().invoke(cli, ["--project", str(project_root), *args, "--sandbox"],
                                  input=input, env=environment)

    return invoke

