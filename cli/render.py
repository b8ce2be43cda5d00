"""Text for plans and applies: one summary line per environment, then the details."""

from __future__ import annotations

import sys
import time

import click

from envctl.planning.plans import EnvironmentPlan

SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}


def plan_counts(plan: EnvironmentPlan) -> str:
    counts = plan.counts
    return f"{counts['add']} to add, {counts['change']} to change, {counts['destroy']} to destroy"


def plan_summary(plan: EnvironmentPlan) -> str:
    """Terraform's counts, the data-impact label, and one line per changed resource."""
    if not plan.has_changes:
        return f"{plan.environment}: no changes"
    lines = [f"{plan.environment}: {plan_counts(plan)}", f"  data impact: {plan.impact.label()}"]
    for address, action in plan.changes:
        lines.append(f"  {SYMBOLS.get(action, '?'):>3} {address} ({action})")
    for reason in plan.impact.reasons:
        if "forces replacement" in reason:
            lines.append(f"  note: {reason}")
    return "\n".join(lines)


class StepPrinter:
    """Progress lines on stderr: which environment finished which Terraform step, and when."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.interactive = sys.stderr.isatty()

    def __call__(self, environment: str, step: str, elapsed: float) -> None:
        total = time.monotonic() - self.started
        click.secho(f"  {environment}: {step} done in {elapsed:.1f}s [{total:.0f}s]",
                    err=True, dim=self.interactive)

    def note(self, message: str) -> None:
        click.echo(message, err=True)
