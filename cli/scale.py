"""envctl scale: swap an environment's instance type; its data volume stays."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from envctl.cli.options import (
    Context,
    engine_option,
    open_workspace,
    pass_context,
    sandbox_option,
    yes_option,
)

if TYPE_CHECKING:
    from envctl.definitions.spec import EnvironmentSpec
    from envctl.scaling import Preflight
    from envctl.workspace import Workspace


@click.command()
@click.argument("environment")
@click.option("--type", "instance_type", metavar="TYPE",
              help="Instance type to swap to, such as t3.large or g5.xlarge.")
@click.option("--cpu", is_flag=True,
              help="Swap to the cheapest type without a GPU with at least 2 vCPUs and 8 GiB, of "
                   "the image's architecture, offered in the volume's zone.")
@click.option("--gpu", metavar="NAME[:N]",
              help="Swap to the cheapest type with exactly N GPUs called NAME (N defaults to "
                   "1), such as A10G or A10G:4.")
@click.option("--apply", "apply_now", is_flag=True,
              help="Also plan and apply the change; without it, only the file is edited.")
@yes_option
@sandbox_option
@engine_option
@pass_context
def scale(ctx: Context, environment: str, instance_type: str | None, cpu: bool,
          gpu: str | None, apply_now: bool, yes: bool, sandbox: bool,
          engine: str | None) -> None:
    """Swap an environment's instance type, such as a GPU box to a cheap CPU one and back.

    Checks the type first (offered in the data volume's zone, same CPU architecture as the
    image, a GPU image for a GPU type, can attach the volume), then writes it into the
    environment file. With --apply, plans, asks, and applies: the box restarts on the new
    type, the data volume stays the same volume, and a stopped box stays stopped.

    \b
    Example:
      envctl scale sd-dreambooth --cpu
      envctl scale sd-dreambooth --type t3.large --apply --yes
      envctl scale sd-dreambooth --gpu A10G --apply
    """
    from envctl.scaling import choose_type, preflight

    if sum((instance_type is not None, cpu, gpu is not None)) != 1:
        raise click.UsageError("pass exactly one of --type, --cpu or --gpu")
    workspace = open_workspace(ctx, sandbox, engine, None)
    spec = workspace.project.environment(environment)
    target = choose_type(workspace, spec, instance_type, cpu, gpu)
    checked = preflight(workspace, spec, target)
    _print_preflight(checked)
    if apply_now:
        _scale_and_apply(ctx, workspace, spec.name, target, yes)
    else:
        _edit_only(ctx, spec, target)


def _print_preflight(checked: Preflight) -> None:
    click.echo(f"Preflight for {checked.instance_type}: passed", err=True)
    for line in checked.checks:
        click.echo(f"  ok: {line}", err=True)


def _edit_only(ctx: Context, spec: EnvironmentSpec, target: str) -> None:
    from envctl.scaling import write_instance_type

    before = spec.source.read_text(encoding="utf-8")
    write_instance_type(spec, target)
    diff = file_diff(spec.source, before)
    data = {"environment": spec.name, "instance_type": target,
            "previous_type": spec.instance_type, "file": str(spec.source),
            "edited": bool(diff), "applied": False}
    ctx.emit(diff or f"{spec.name}: {spec.source.name} already has {target}; nothing to edit",
             data)
    click.echo(f"\nReview it with `git diff {spec.source}`, then apply it with: "
               f"envctl apply {spec.name}", err=True)


def _scale_and_apply(ctx: Context, workspace: Workspace, name: str, target: str,
                     yes: bool) -> None:
    from envctl.cli.apply import confirm
    from envctl.cli.render import StepPrinter, plan_summary
    from envctl.scaling import apply_scale, cancel_scale, plan_scale

    printer = StepPrinter()
    planned = plan_scale(workspace, name, target, printer, checked=True)
    click.echo(file_diff(planned.source, planned.original_text), err=True)
    click.echo(plan_summary(planned.plan), err=True)
    try:
        if planned.plan.has_changes:
            confirm(f"Swap {name} from {planned.previous_type} to {target}?", yes)
    except BaseException:
        # Declined or no terminal to ask: nothing was applied, so the file goes back too.
        cancel_scale(workspace, planned)
        raise
    result = apply_scale(workspace, planned, printer)
    same = "the same volume" if result.volume_before == result.volume_after else "a NEW volume"
    text = (f"{name}: {result.instance_type} (was {result.previous_type}), {result.state_after}; "
            f"data volume {result.volume_after} is {same}")
    ctx.emit(text, {"environment": name, "instance_type": result.instance_type,
                    "previous_type": result.previous_type, "state": result.state_after,
                    "volume_before": result.volume_before, "volume_after": result.volume_after,
                    "plan": result.plan.to_json(), "applied": True})
    printer.note(f"\nScale back with: envctl scale {name} --type {result.previous_type} --apply")


def file_diff(source: Path, before: str) -> str:
    """A unified diff of source against its earlier text, as git shows an edit."""
    after = source.read_text(encoding="utf-8")
    lines = difflib.unified_diff(before.splitlines(keepends=True),
                                 after.splitlines(keepends=True),
                                 fromfile=f"a/{source.name}", tofile=f"b/{source.name}", n=2)
    return "".join(lines).rstrip("\n")
