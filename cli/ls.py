"""envctl ls: every environment of the project in one table, from one DescribeInstances call."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from envctl.cli.options import Context, open_workspace, pass_context, sandbox_option
from envctl.cli.selection import select_environments

if TYPE_CHECKING:
    from envctl.inventory import EnvironmentStatus

COLUMNS = ("NAME", "STATE", "TYPE", "GPU", "$/HOUR", "UPTIME", "LAST ACTIVITY", "AUTOSTOP")


@click.command(name="ls")
@click.argument("environments", nargs=-1)
@sandbox_option
@pass_context
def ls(ctx: Context, environments: tuple[str, ...], sandbox: bool) -> None:
    """List environments (default: all) with their state, type, price and autostop.

    Reads AWS only (one DescribeInstances call per region); no Terraform, no synthesis.
    $/HOUR is the on-demand price from the shipped catalog while the instance is billed,
    and 0 while it is stopped.

    \b
    Example:
      envctl ls
      envctl --output json ls
    """
    from envctl.inventory import describe_environments

    workspace = open_workspace(ctx, sandbox, None, None)
    specs = select_environments(workspace.project, environments)
    statuses = describe_environments(workspace, specs)
    now = datetime.datetime.now(datetime.UTC)
    ctx.emit(inventory_table(statuses, now), [status.to_json(now) for status in statuses])


def inventory_table(statuses: Sequence[EnvironmentStatus], now: datetime.datetime) -> str:
    """Format the table, then notes on drifted types, stopped storage and the billed total."""
    rows = [COLUMNS] + [inventory_row(status, now) for status in statuses]
    widths = [max(len(row[index]) for row in rows) for index in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    return "\n".join(lines + inventory_notes(statuses))


def inventory_row(status: EnvironmentStatus, now: datetime.datetime) -> tuple[str, ...]:
    from envctl.inventory import gpu_label

    instance_type = status.current_type + ("*" if status.type_drift else "")
    uptime = status.uptime(now)
    return (
        status.name,
        status.state,
        instance_type,
        gpu_label(status.current_type) or "-",
        "-" if status.state == "absent" else format_price(status.hourly_cost),
        format_duration(uptime) if uptime is not None else "-",
        format_age(status.last_activity, now),
        format_autostop(status.autostop_minutes),
    )


def inventory_notes(statuses: Sequence[EnvironmentStatus]) -> list[str]:
    from envctl.prices import PRICES_DATE

    notes = []
    if any(status.type_drift for status in statuses):
        notes.append("* the instance type differs from the environment file; see "
                     "`envctl status NAME`")
    stopped = [status for status in statuses if status.state == "stopped"]
    if stopped:
        storage = sum(status.storage_gb for status in stopped)
        notes.append(f"{len(stopped)} stopped: $0/hour for the instances, but their EBS volumes "
                     f"({storage} GiB in total) are still billed")
    billed = [status.hourly_cost for status in statuses if status.hourly_cost]
    if billed:
        notes.append(f"{len(billed)} billed: ${sum(billed):.3f}/hour in total "
                     f"(on-demand prices of {PRICES_DATE})")
    return [""] + notes if notes else []


def format_price(price: float | None) -> str:
    return "?" if price is None else f"{price:.3f}"


def format_duration(duration: datetime.timedelta) -> str:
    """Such as 45m, 3h05m or 2d04h."""
    minutes = int(duration.total_seconds()) // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m"


def format_age(moment: datetime.datetime | None, now: datetime.datetime) -> str:
    if moment is None:
        return "-"
    return f"{format_duration(max(now - moment, datetime.timedelta(0)))} ago"


def format_autostop(minutes: int | None) -> str:
    return "off" if minutes is None else f"{minutes}m idle"
