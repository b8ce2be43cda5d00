"""envctl port-forward: reach a port on an environment (Jupyter, TensorBoard) from this machine."""

from __future__ import annotations

import subprocess

import click

from envctl.cli.options import Context, pass_context, sandbox_option, yes_option
from envctl.cli.ssh import reach, ssh_command

MAX_PORT = 65535


@click.command("port-forward")
@click.argument("environment")
@click.argument("ports", nargs=-1, required=True)
@yes_option
@sandbox_option
@pass_context
def port_forward(ctx: Context, environment: str, ports: tuple[str, ...], yes: bool,
                 sandbox: bool) -> None:
    """Forward local ports to ports on the environment until Ctrl-C.

    PORTS are LOCAL[:REMOTE], such as 8888 or 8080:8888. Local ports listen on 127.0.0.1
    only. On the box the tunnel connects to 127.0.0.1:REMOTE, so the autostop agent counts
    its traffic as activity on the ports it watches (8888 and 6006 by default).

    \b
    Example:
      envctl port-forward pytorch-train 8888 6006
    """
    pairs = [parse_ports(text) for text in ports]
    target = reach(ctx, environment, sandbox, yes)
    forwards = [part for local, remote in pairs
                for part in ("-L", f"127.0.0.1:{local}:127.0.0.1:{remote}")]
    for local, remote in pairs:
        click.echo(f"Forwarding http://127.0.0.1:{local} to port {remote} on {environment}",
                   err=True)
    _warn_unwatched([remote for _, remote in pairs])
    click.echo("Press Ctrl-C to stop.", err=True)
    argv = [*ssh_command(target), "-N", "-o", "ExitOnForwardFailure=yes", *forwards,
            "--", target.host.alias]
    click.get_current_context().exit(subprocess.run(argv, check=False).returncode)


def parse_ports(text: str) -> tuple[int, int]:
    """Parse LOCAL[:REMOTE] into two port numbers; REMOTE defaults to LOCAL."""
    local, _, remote = text.partition(":")
    try:
        numbers = (int(local), int(remote or local))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not LOCAL[:REMOTE], such as 8888 or "
                                 "8080:8888", param_hint="PORTS") from None
    for number in numbers:
        if not 1 <= number <= MAX_PORT:
            raise click.BadParameter(f"{number} in {text!r} is not a port (1-{MAX_PORT})",
                                     param_hint="PORTS")
    return numbers


def _warn_unwatched(remotes: list[int]) -> None:
    from envctl.instance.autostop.config import DEFAULT_CONFIG

    watched = DEFAULT_CONFIG["signals"]["ports"]["ports"]
    unwatched = [str(port) for port in remotes if port not in watched]
    if unwatched:
        # NOTE: the definition format has no autostop port list yet, so only the agent's
        # default ports count. A notebook on another port does not keep the box up.
        click.echo(f"Note: autostop does not count traffic on port {', '.join(unwatched)}; "
                   f"it watches {', '.join(map(str, watched))}.", err=True)
