"""envctl snapshots: list the snapshots of an environment's data volume, with their cost."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING

import click

from envctl.cli.options import Context, open_workspace, pass_context, sandbox_option

if TYPE_CHECKING:
    from envctl.backups.snapshots import Snapshot

COLUMNS = ("SNAPSHOT", "STARTED (UTC)", "SIZE", "NOTE", "KIND", "STATE", "MAX $/MONTH")


@click.command()
@click.argument("environment")
@sandbox_option
@pass_context
def snapshots(ctx: Context, environment: str, sandbox: bool) -> None:
    """List the environment's snapshots, oldest first: taken by hand, scheduled, or final.

    SIZE is the snapshot's full size when EC2 reports it, else the volume's size. Snapshots
    are incremental, so each stores at most that, and MAX $/MONTH prices that upper bound at
    the shipped snapshot storage price.

    \b
    Example:
      envctl snapshots whisper
    """
    from envctl.backups.snapshots import list_snapshots

    workspace = open_workspace(ctx, sandbox, None, None)
    spec = workspace.project.environment(environment)
    found = list_snapshots(workspace, spec)
    ctx.emit(snapshot_table(spec.name, spec.region, found),
             [snapshot.to_json() for snapshot in found])


def snapshot_table(name: str, region: str, found: Sequence[Snapshot]) -> str:
    """Format the table, then the price it used and how to restore."""
    from envctl.backups.pricing import snapshot_prices

    if not found:
        return f"{name}: no snapshots yet; take one with: envctl snapshot {name}"
    rows = [COLUMNS] + [snapshot_row(snapshot) for snapshot in found]
    widths = [max(len(row[index]) for row in rows) for index in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             .rstrip() for row in rows]
    prices = snapshot_prices()
    price = prices.usd_per_gb_month(region)
    if price is None:
        lines.append(f"No snapshot price for {region} in the shipped list ({prices.date}).")
    else:
        lines.append(f"Priced at ${price}/GB-month for standard snapshots in {region}, as of "
                     f"{prices.date}.")
    lines.append(f"Restore one with: envctl restore {name} --snapshot SNAPSHOT")
    return "\n".join(lines)


def snapshot_row(snapshot: Snapshot) -> tuple[str, ...]:
    cost = snapshot.monthly_cost
    return (
        snapshot.snapshot_id,
        f"{snapshot.started.astimezone(UTC):%Y-%m-%d %H:%M}",
        f"{snapshot.size_gib} GiB",
        snapshot.note or "-",
        snapshot.kind,
        snapshot.state if snapshot.state == "completed" else
        f"{snapshot.state} {snapshot.progress}".strip(),
        "-" if cost is None else f"${cost:.2f}",
    )
