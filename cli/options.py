"""Options and context shared by every command."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from envctl.definitions.loader import Project


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
