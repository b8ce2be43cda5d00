"""envctl plan: save a plan per environment and print what each would change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from envctl.cli.check import policy_lines
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
from envctl.errors import PolicyFailed
from envctl.review.policy import failure_summary

if TYPE_CHECKING:
    from envctl.review.report import Review


@click.command()
@click.argument("environments", nargs=-1)
@click.option("--all", "all_environments", is_flag=True, help="Plan every environment.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for saved plans and plan JSON (default: .envctl/plans).")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when any environment has changes, 0 when none has.")
@click.option("--changed-since", metavar="REF", default=None,
              help="Plan only environments whose file, template or envctl.yaml changed since "
              "this git ref; a deleted file plans a destroy that keeps the data volume.")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True,
              help="What stdout gets: text, a markdown pull-request comment, or the review "
              "as JSON. The plan folder keeps review.md and review.json either way.")
@sandbox_option
@engine_option
@parallelism_option
@pass_context
def plan(ctx: Context, environments: tuple[str, ...], all_environments: bool,
         out_dir: str | None, detailed_exitcode: bool, changed_since: str | None,
         output_format: str, sandbox: bool, engine: str | None, parallelism: int | None) -> None:
    """Plan environments (default: all) and save the plans for `envctl apply --plan-dir`.

    Changes nothing in the cloud. Unpinned images are resolved and pinned in the
    environment files, so commit those edits. The policies of `envctl check` run on every
    planned stack, and a failing one makes plan exit 1 after printing the summary.

    \b
    Exit codes: 0 ok, 1 error or failed policy, 2 changes present (with --detailed-exitcode).
    Example:
      envctl plan --all --out plans/ --detailed-exitcode
      envctl plan --changed-since origin/main --format markdown --out plans/ > comment.md
    """
    from envctl.review.run import plan_changes, plan_selected, save_review

    if changed_since and (environments or all_environments):
        raise click.UsageError("--changed-since chooses the environments itself; drop the "
                               "environment names and --all")
    workspace = open_workspace(ctx, sandbox, engine, parallelism)
    folder = Path(out_dir).resolve() if out_dir else workspace.plans_dir
    shown = _shown(folder)
    printer = StepPrinter()
    if changed_since:
        printer.note(f"Planning environments changed since {changed_since} with "
                     f"{workspace.engine_name}...")
        review = plan_changes(workspace, changed_since, folder, shown, printer)
    else:
        specs = select_environments(workspace.project, () if all_environments else environments)
        printer.note(f"Planning {len(specs)} environment(s) with {workspace.engine_name}...")
        review = plan_selected(workspace, specs, folder, shown, printer)
    printer.done()
    save_review(review, folder)
    _emit(ctx, review, output_format)
    plans = [env.plan for env in review.environments if env.plan is not None]
    pending = [p.environment for p in plans if p.has_changes and not p.destroy]
    _note_deleted(printer, [p.environment for p in plans if p.has_changes and p.destroy])
    if review.failed_policies:
        raise PolicyFailed(failure_summary(review.failed_policies))
    if pending:
        printer.note(f"\nSaved plans in {shown}. Apply them with:\n"
                     f"  envctl apply {' '.join(pending)} --plan-dir {shown}")
    else:
        printer.note("\nEverything is up to date.")
    if detailed_exitcode and any(p.has_changes for p in plans):
        ctx_exit(2)


def _emit(ctx: Context, review: Review, output_format: str) -> None:
    """Print the review on stdout in the format that --format selects."""
    from envctl.review.markdown import render_markdown

    if output_format == "markdown":
        click.echo(render_markdown(review), nl=False)
        return
    if output_format == "json":
        click.echo(json.dumps(review.to_json(), indent=2, sort_keys=True))
        return
    plans = [env.plan for env in review.environments if env.plan is not None]
    results = [result for env in review.environments for result in env.policy]
    lines = [plan_summary(plan) for plan in plans]
    lines.extend(policy_lines(results, problems_only=True))
    ctx.emit("\n".join(lines), [plan.to_json() for plan in plans])


def _note_deleted(printer: StepPrinter, names: list[str]) -> None:
    # NOTE: `envctl apply` looks environments up in their files, so it cannot apply the
    # destroy plan of a deleted file yet. The plan is saved for review only.
    for name in names:
        printer.note(f"{name}: its file is deleted, so a destroy is planned (the data volume "
                     f"stays). To carry it out, restore the file and run `envctl destroy "
                     f"{name}`, then delete the file.")


def _shown(folder: Path) -> str:
    try:
        return str(folder.relative_to(Path.cwd()))
    except ValueError:
        return str(folder)


def ctx_exit(code: int) -> None:
    click.get_current_context().exit(code)
