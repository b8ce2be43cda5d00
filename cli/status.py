"""envctl status: one environment in detail, once or polled with --watch."""

from __future__ import annotations

import datetime
import json
import time
from typing import TYPE_CHECKING

import click

from envctl.cli.ls import format_age, format_autostop, format_duration, format_price
from envctl.cli.options import Context, open_workspace, pass_context, sandbox_option

if TYPE_CHECKING:
    from envctl.inventory import EnvironmentStatus
    from envctl.workspace import Workspace

# What StateReason codes mean for a stopped instance, in the user's terms.
STOP_REASONS = {
    "Client.UserInitiatedShutdown":
        "stopped through the EC2 API (envctl stop, the console, or the idle backstop alarm)",
    "Client.InstanceInitiatedShutdown":
        "stopped from inside the instance (the autostop agent, or a poweroff)",
    "Server.InsufficientInstanceCapacity": "AWS had no capacity to start it",
    "Server.SpotInstanceTermination": "stopped by AWS to reclaim Spot capacity",
}


@click.command()
@click.argument("environment")
@click.option("--watch", is_flag=True, help="Poll until --count polls are done (or Ctrl-C).")
@click.option("--interval", type=click.FloatRange(min=1.0), default=10.0, show_default=True,
              help="Seconds between polls with --watch.")
@click.option("--count", type=click.IntRange(min=1), default=360, show_default=True,
              help="How many polls --watch makes before it exits.")
@sandbox_option
@pass_context
def status(ctx: Context, environment: str, watch: bool, interval: float, count: int,
           sandbox: bool) -> None:
    """Show one environment as AWS sees it now, and where it differs from its file.

    With --watch, print one line per poll. The polls are DescribeInstances calls marked
    envctl-probe/1 in the User-Agent; they never reach the instance, so they never count
    as activity for autostop.

    \b
    Example:
      envctl status whisper
      envctl status whisper --watch --interval 5
    """
    workspace = open_workspace(ctx, sandbox, None, None)
    if not watch:
        current, now = describe_one(workspace, environment)
        ctx.emit(status_text(current, now), current.to_json(now))
        return
    for poll in range(count):
        if poll:
            time.sleep(interval)
        current, now = describe_one(workspace, environment)
        if ctx.output == "json":
            click.echo(json.dumps(current.to_json(now), sort_keys=True))
        else:
            click.echo(watch_line(current, now))


def describe_one(workspace: Workspace,
                 environment: str) -> tuple[EnvironmentStatus, datetime.datetime]:
    from envctl.inventory import describe_environments

    spec = workspace.project.environment(environment)
    current = describe_environments(workspace, [spec])[0]
    return current, datetime.datetime.now(datetime.UTC)


def status_text(current: EnvironmentStatus, now: datetime.datetime) -> str:
    from envctl.inventory import gpu_label

    uptime = current.uptime(now)
    rows = [
        ("state", state_text(current)),
        ("type", type_text(current)),
        ("gpu", gpu_label(current.current_type) or "-"),
        ("price", price_text(current)),
        ("uptime", format_duration(uptime) if uptime is not None else "-"),
        ("last activity", format_age(current.last_activity, now)),
        ("autostop", format_autostop(current.autostop_minutes)),
        ("public ip", current.public_ip or "-"),
    ]
    lines = [f"{current.name} ({current.environment_id}, {current.region})"]
    lines += [f"  {label:<16}{value}" for label, value in rows]
    return "\n".join(lines)


def state_text(current: EnvironmentStatus) -> str:
    if current.state == "absent":
        return f"absent: no instance; create it with `envctl apply {current.name}`"
    text = f"{current.state} ({current.instance_id})"
    if current.state == "stopped" and current.state_reason:
        text += ", " + STOP_REASONS.get(current.state_reason, current.state_reason)
    return text


def type_text(current: EnvironmentStatus) -> str:
    if not current.type_drift:
        return current.current_type
    return (f"{current.current_type}, changed outside envctl: the file says "
            f"{current.defined_type}, so the next plan changes it back; to keep "
            f"{current.current_type}, set instance.type in the file")


def price_text(current: EnvironmentStatus) -> str:
    price = format_price(current.hourly_price)
    if current.state == "absent":
        return f"$0/hour with no instance; ${price}/hour on demand once applied"
    if current.state == "stopped":
        return (f"$0/hour while stopped (${price}/hour running); {current.storage_gb} GiB of "
                "EBS volumes are still billed")
    return f"${price}/hour on demand"


def watch_line(current: EnvironmentStatus, now: datetime.datetime) -> str:
    uptime = current.uptime(now)
    parts = [now.strftime("%H:%M:%SZ"), current.name, current.state,
             current.current_type + ("*" if current.type_drift else "")]
    if uptime is not None:
        parts.append(f"up {format_duration(uptime)}")
    return " ".join(parts)
