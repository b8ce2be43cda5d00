"""envctl validate: check definitions without touching the cloud or loading the CDK layer."""

from __future__ import annotations

from pathlib import Path

import click

from envctl.cli.options import Context, pass_context
from envctl.definitions.loader import check_project
from envctl.errors import DefinitionError, EnvctlError


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@pass_context
def validate(ctx: Context, paths: tuple[str, ...]) -> None:
    """Check environment, template and project files; print every problem found.

    PATHS are project folders or files inside one (default: --project).

    \b
    Example:
      envctl validate examples/
    """
    errors: list[DefinitionError] = []
    checked = []
    for path in paths or (ctx.project_dir,):
        project, found = check_project(Path(path))
        errors.extend(found)
        checked.extend(project.environments)
    for error in errors:
        click.secho(f"error: {error}", fg="red", err=True)
    names = sorted(spec.name for spec in checked)
    ctx.emit(
        f"{len(names)} environment(s) valid: {', '.join(names)}" if names else "no environments",
        {"valid": names, "errors": [str(error) for error in errors]},
    )
    if errors:
        raise EnvctlError(f"{len(errors)} invalid definition(s); fix the lines above")
