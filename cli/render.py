"""Text for plans and applies: one summary line per environment, then the details."""

from __future__ import annotations

import sys
import threading
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
    if plan.backup:
        lines.append(f"  backup: {plan.backup}")
    for address, action in plan.changes:
        lines.append(f"  {SYMBOLS.get(action, '?'):>3} {address} ({action})")
    for reason in plan.impact.reasons:
        if "forces replacement" in reason:
            lines.append(f"  note: {reason}")
    return "\n".join(lines)


class StepPrinter:
    """Progress on stderr: which environment finished which Terraform step, and when.

    On a terminal it keeps one live line per environment, redrawn as steps finish and once a
    second for the clock; elsewhere (CI, pipes) it prints one plain line per finished step.
    """

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.interactive = sys.stderr.isatty()
        self._lock = threading.Lock()
        self._rows: dict[str, str] = {}
        self._drawn = 0
        self._ticker: threading.Thread | None = None

    def __call__(self, environment: str, step: str, elapsed: float) -> None:
        total = time.monotonic() - self.started
        if not self.interactive:
            click.echo(f"  {environment}: {step} done in {elapsed:.1f}s [{total:.0f}s]", err=True)
            return
        with self._lock:
            self._rows[environment] = f"{step} done in {elapsed:.1f}s"
            self._redraw()
        self._start_ticker()

    def note(self, message: str) -> None:
        self.done()
        click.echo(message, err=True)

    def done(self) -> None:
        """Stop redrawing, so what is printed next is not overwritten."""
        with self._lock:
            self._drawn = 0
            self._rows.clear()

    def _start_ticker(self) -> None:
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while True:
            time.sleep(1)
            with self._lock:
                if self._rows:
                    self._redraw()

    def _redraw(self) -> None:
        total = time.monotonic() - self.started
        if self._drawn:
            sys.stderr.write(f"\x1b[{self._drawn}F")
        for environment, status in self._rows.items():
            sys.stderr.write(f"\x1b[2K  {environment:20} {status:28} [{total:.0f}s]\n")
        sys.stderr.flush()
        self._drawn = len(self._rows)
