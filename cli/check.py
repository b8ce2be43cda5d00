"""envctl check: run the policies from envctl.yaml on environments, without planning."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from envctl.cli.options import Context, pass_context
from envctl.cli.selection import select_environments
from envctl.errors import PolicyFailed
from envctl.review.policy import PolicyResult, evaluate, failure_summary

if TYPE_CHECKING:
    from envctl.definitions.loader import Project
    from envctl.definitions.spec import EnvironmentSpec


@click.command()
@click.argument("environments", nargs=-1)
@click.option("--synth", "use_stacks", is_flag=True,
              help="Synthesize the stacks first and check them, not only the definitions.")
@pass_context
def check(ctx: Context, environments: tuple[str, ...], use_stacks: bool) -> None:
    """Check environments (default: all) against the policies in envctl.yaml.

    Policies: SSH not open to the world, IMDSv2 required, volumes encrypted, required
    tags, autostop on GPU types, allowed instance types and regions, and a maximum cost
    per hour. Waive one for an environment under policy.exceptions, with a reason.

    \b
    Exit codes: 0 every policy passes, 1 a policy failed or an error.
    Example:
      envctl check
      envctl check sd-dreambooth --synth
    """
    project = ctx.load_project()
    specs = select_environments(project, environments)
    stacks = synthesized_stacks(project, specs) if use_stacks else {}
    results = [result for spec in specs
               for result in evaluate(spec, project.settings, stacks.get(spec.id))]
    ctx.emit("\n".join(policy_lines(results)),
             [{"environment": result.environment, **result.to_json()} for result in results])
    if any(result.failed for result in results):
        raise PolicyFailed(failure_summary(results))


def synthesized_stacks(project: Project,
                       specs: Sequence[EnvironmentSpec]) -> dict[str, dict[str, Any]]:
    """Synthesize specs and return each environment id's parsed cdk.tf.json."""
    from envctl.cdk.app import synth_project
    from envctl.terraform.runner import STACK_FILE

    folders = synth_project(project, specs)
    return {spec.id: json.loads((folders[spec.id] / STACK_FILE).read_text()) for spec in specs}


def policy_lines(results: Sequence[PolicyResult], problems_only: bool = False) -> list[str]:
    """Format a line per environment with its counts, then one per failed or waived policy."""
    by_environment: dict[str, list[PolicyResult]] = {}
    for result in results:
        by_environment.setdefault(result.environment, []).append(result)
    lines = []
    for name, own in by_environment.items():
        failed = [result for result in own if result.failed]
        waived = [result for result in own if result.waiver]
        if problems_only and not failed and not waived:
            continue
        counts = f"{sum(result.passed for result in own)} passed"
        counts += f", {len(failed)} failed" if failed else ""
        counts += f", {len(waived)} waived" if waived else ""
        lines.append(f"{name}: policies: {counts}")
        lines.extend(f"  FAILED {result.policy}: {result.message}" for result in failed)
        lines.extend(f"  waived {result.policy}: {result.waiver}" for result in waived)
    return lines
