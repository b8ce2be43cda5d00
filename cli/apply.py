"""envctl apply: apply saved plans, or plan, show, ask and apply."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from envctl.cli.options import (
    Context,
    engine_option,
    open_workspace,
    parallelism_option,
    pass_context,
    sandbox_option,
    yes_option,
)
from envctl.cli.render import StepPrinter, plan_summary
from envctl.cli.selection import select_environments
from envctl.errors import EnvctlError


@click.command()
@click.argument("environments", nargs=-1)
@click.option("--all", "all_environments", is_flag=True, help="Apply every environment.")
@click.option("--plan-dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Apply the plans saved there by `envctl plan --out`, if still current.")
@click.option("--allow-data-loss", multiple=True, metavar="ENV",
              help="Let this environment's plan replace or destroy its data volume.")
@yes_option
@sandbox_option
@engine_option
@parallelism_option
@pass_context
def apply(ctx: Context, environments: tuple[str, ...], all_environments: bool,
          plan_dir: str | None, allow_data_loss: tuple[str, ...], yes: bool, sandbox: bool,
          engine: str | None, parallelism: int | None) -> None:
    """Create or update environments (default: all).

    With --plan-dir, applies exactly the saved plans without asking, as `terraform apply
    PLANFILE` does, because they were reviewed when made; a stale plan is refused. Otherwise
    plans, prints the summary, asks (or takes --yes), and applies.

    \b
    Example:
      envctl apply sd-dreambooth --yes
      envctl apply --all --plan-dir plans/
    """
    from envctl.planning.run import (
        apply_plans,
        check_data_loss,
        load_saved_plans,
        plan_environments,
    )

    workspace = open_workspace(ctx, sandbox, engine, parallelism)
    specs = select_environments(workspace.project, () if all_environments else environments)
    printer = StepPrinter()
    if plan_dir:
        plans = load_saved_plans(workspace, Path(plan_dir).resolve(), specs)
    else:
        plans = plan_environments(workspace, specs, workspace.plans_dir, printer, allow_data_loss)
        printer.done()
    pending = [plan for plan in plans if plan.has_changes]
    if not pending:
        ctx.emit("No changes. Everything is up to date.", [])
        return
    click.echo("\n".join(plan_summary(plan) for plan in pending), err=True)
    check_data_loss(pending, allow_data_loss)
    confirm(f"Apply changes to {len(pending)} environment(s)?", yes or plan_dir is not None)
    results = apply_plans(workspace, pending, allow_data_loss, printer)
    printer.done()
    lines = [f"{r.environment}: applied; " + ", ".join(f"{k}={v}" for k, v in
                                                       sorted(r.outputs.items()))
             for r in results]
    ctx.emit("\n".join(lines), {r.environment: r.outputs for r in results})
    printer.note("\nSee them with: envctl ls")
    # A box fetches its secrets once, at the first boot of each new instance.
    for plan in pending:
        if not plan.destroy and workspace.project.environment(plan.environment_id).secrets:
            printer.note(f"If this apply created or replaced {plan.environment}'s box, send it "
                         f"its secrets with: envctl secrets deliver {plan.environment}")


def confirm(question: str, yes: bool) -> None:
    """Ask before changing anything; without a terminal, --yes is required."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise EnvctlError(f"{question} needs confirmation and there is no terminal to ask; "
                          "pass --yes")
    click.confirm(question, abort=True, err=True)
