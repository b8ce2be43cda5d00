"""envctl plan: save a plan per environment and print what each would change."""

from __future__ import annotations

from pathlib import Path

import click

from envctl.cli.options import (
    Context,
    engine_option,
    open_workspace,
    parallelism_option,
    pass_context,
    sandbox_option,
)
from envctl.cli.render import StepPrinter, plan_summary
from envctl.cli.selection import select_environments


@click.command()
@click.argument("environments", nargs=-1)
@click.option("--all", "all_environments", is_flag=True, help="Plan every environment.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for saved plans and plan JSON (default: .envctl/plans).")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when any environment has changes, 0 when none has.")
@sandbox_option
@engine_option
@parallelism_option
@pass_context
def plan(ctx: Context, environments: tuple[str, ...], all_environments: bool,
         out_dir: str | None, detailed_exitcode: bool, sandbox: bool, engine: str | None,
         parallelism: int | None) -> None:
    """Plan environments (default: all) and save the plans for `envctl apply --plan-dir`.

    Changes nothing in the cloud. Unpinned images are resolved and pinned in the
    environment files, so commit those edits.

    \b
    Exit codes: 0 ok, 1 error, 2 changes present (with --detailed-exitcode).
    Example:
      envctl plan --all --out plans/ --detailed-exitcode
    """
    from envctl.planning.run import plan_environments

    workspace = open_workspace(ctx, sandbox, engine, parallelism)
    specs = select_environments(workspace.project, () if all_environments else environments)
    folder = Path(out_dir).resolve() if out_dir else workspace.plans_dir
    printer = StepPrinter()
    printer.note(f"Planning {len(specs)} environment(s) with {workspace.engine_name}...")
    plans = plan_environments(workspace, specs, folder, printer)
    ctx.emit("\n".join(plan_summary(p) for p in plans), [p.to_json() for p in plans])
    pending = [p.environment for p in plans if p.has_changes]
    shown = _shown(folder)
    if pending:
        printer.note(f"\nSaved plans in {shown}. Apply them with:\n"
                     f"  envctl apply {' '.join(pending)} --plan-dir {shown}")
    else:
        printer.note("\nEverything is up to date.")
    if detailed_exitcode and pending:
        ctx_exit(2)


def _shown(folder: Path) -> str:
    try:
        return str(folder.relative_to(Path.cwd()))
    except ValueError:
        return str(folder)


def ctx_exit(code: int) -> None:
    click.get_current_context().exit(code)
