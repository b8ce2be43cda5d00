"""envctl keepalive: keep a running box from being auto-stopped for a while."""

from __future__ import annotations

import click

from envctl.cli.options import Context, open_workspace, pass_context, sandbox_option


@click.command()
@click.argument("environment")
@click.argument("duration")
@click.option("--ssh-host", default=None,
              help="Host name or address to reach the box (default: its public IP).")
@click.option("--ssh-option", "-o", "ssh_options", multiple=True, metavar="KEY=VALUE",
              help="An ssh -o option, such as User=ubuntu or IdentityFile=~/.ssh/dev; "
                   "repeat for more.")
@sandbox_option
@pass_context
def keepalive(ctx: Context, environment: str, duration: str, ssh_host: str | None,
              ssh_options: tuple[str, ...], sandbox: bool) -> None:
    """Hold off autostop on a running box for DURATION (such as 3h, 90m, 2d; off ends it).

    Writes a lease file on the box over ssh, which the autostop agent reads each minute.
    The ssh session itself never counts as activity. The CloudWatch backstop alarm still
    stops a box whose CPU stays near zero for hours, lease or not.

    \b
    Example:
      envctl keepalive whisper 3h -o User=ubuntu
      envctl keepalive whisper off
    """
    from envctl.keepalive import keepalive as write_lease
    from envctl.keepalive import lease_text, parse_duration

    length = parse_duration(duration)
    workspace = open_workspace(ctx, sandbox, None, None)
    lease = write_lease(workspace, environment, length, ssh_host, ssh_options)
    ctx.emit(str(lease), {
        "environment": lease.environment,
        "expires": lease_text(lease.expires) if lease.expires else None,
        "location": lease.location,
    })
