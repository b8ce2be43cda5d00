"""envctl synth: write one Terraform stack per environment, without planning."""

from __future__ import annotations

import click

from envctl.cli.options import Context, pass_context
from envctl.cli.selection import select_environments


@click.command()
@click.argument("environments", nargs=-1)
@pass_context
def synth(ctx: Context, environments: tuple[str, ...]) -> None:
    """Synthesize stacks to cdktf.out/stacks/<environment id>/cdk.tf.json.

    ENVIRONMENTS are names or ids (default: all).

    \b
    Example:
      envctl synth sd-dreambooth
    """
    project = ctx.load_project()
    specs = select_environments(project, environments)
    from envctl.cdk.app import synth_project
    from envctl.terraform.runner import STACK_FILE

    folders = synth_project(project, specs)
    lines = []
    for spec in specs:
        stack_file = folders[spec.id] / STACK_FILE
        lines.append(f"{spec.name}: {stack_file.relative_to(project.root)}")
    ctx.emit("\n".join(lines), {spec.name: str(folders[spec.id] / STACK_FILE) for spec in specs})
