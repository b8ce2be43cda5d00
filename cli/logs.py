"""envctl logs: the setup log of an environment's box."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from envctl.cli.options import Context, open_workspace, pass_context, sandbox_option
from envctl.errors import EnvctlError

if TYPE_CHECKING:
    from envctl.definitions.spec import EnvironmentSpec
    from envctl.inventory import EnvironmentStatus
    from envctl.setup_logs import SetupLog

LOG_CHOICES = ("setup", "personal-setup", "dotfiles")


@click.command()
@click.argument("environment")
@click.option("--log", "log_name", type=click.Choice(LOG_CHOICES), default="setup",
              show_default=True,
              help="Which log: the shared setup, the owner's personal setup, or the dotfiles "
                   "install script.")
@click.option("--lines", "-n", type=click.IntRange(min=1), default=200, show_default=True,
              help="How many of the last lines to show.")
@click.option("--follow", "-f", is_flag=True,
              help="Keep printing lines as the log grows, until Ctrl-C (over ssh only).")
@click.option("--console", is_flag=True,
              help="Show the console output EC2 keeps instead (GetConsoleOutput), where the "
                   "boot's steps log too; needs no ssh.")
@click.option("--ssh-host", default=None,
              help="Host name or address to reach the box (default: its public IP).")
@click.option("--ssh-option", "-o", "ssh_options", multiple=True, metavar="KEY=VALUE",
              help="An ssh -o option, such as User=ubuntu; repeat for more.")
@sandbox_option
@pass_context
def logs(ctx: Context, environment: str, log_name: str, lines: int, follow: bool,
         console: bool, ssh_host: str | None, ssh_options: tuple[str, ...],
         sandbox: bool) -> None:
    """Show the setup log of ENVIRONMENT's box, and the state of its boot.

    On a running box the log is read over ssh from the data volume
    (MOUNT_PATH/.envctl/logs/). In the sandbox no machine runs the setup, so this shows a log
    recorded under .envctl/sandbox/instances/INSTANCE_ID/ when one exists, else moto's console
    output, with a note on stderr that no machine ran the setup.

    \b
    Example:
      envctl logs whisper
      envctl logs whisper --log personal-setup -n 50
      envctl logs whisper --follow
      envctl logs whisper --console
    """
    from envctl.lifecycle import instance_status
    from envctl.setup_logs import read_console, read_in_sandbox

    workspace = open_workspace(ctx, sandbox, None, None)
    spec = workspace.project.environment(environment)
    status = instance_status(workspace, spec, "read logs from")
    if console:
        result = read_console(workspace, spec, status, lines)
    elif workspace.sandbox_endpoint:
        if follow:
            raise EnvctlError("--follow needs ssh to a real box, and the sandbox has none; "
                              "drop --follow")
        result = read_in_sandbox(workspace, spec, status, log_name, lines)
    else:
        ssh = _ssh_prefix(ctx, spec, status, ssh_host, ssh_options)
        if follow:
            from envctl.setup_logs import follow_over_ssh

            click.get_current_context().exit(follow_over_ssh(spec, ssh, log_name, lines))
        from envctl.setup_logs import read_over_ssh

        result = read_over_ssh(spec, str(status.instance_id), ssh, log_name, lines)
    _show(ctx, result)


def _ssh_prefix(ctx: Context, spec: EnvironmentSpec, status: EnvironmentStatus,
                ssh_host: str | None, ssh_options: tuple[str, ...]) -> list[str]:
    """Return the ssh command line up to the host: without a terminal, non-interactive, and
    with the probe marker, so the autostop agent does not count the read as activity."""
    from envctl.keepalive import PROBE_MARKER

    if status.state not in ("pending", "running"):
        raise EnvctlError(f"{spec.name} is {status.state}, so its data volume cannot be read "
                          f"over ssh; start it with `envctl start {spec.name}`, or pass "
                          "--console for the console output EC2 kept")
    options = ["-T", "-o", "BatchMode=yes", "-o", f"SetEnv={PROBE_MARKER}"]
    for option in ssh_options:
        options += ["-o", option]
    if ssh_host:
        return ["ssh", *options, "--", ssh_host]
    from envctl.cli.ssh import reach, ssh_command

    target = reach(ctx, spec.name, sandbox=False, yes=False)
    return [*ssh_command(target), *options, "--", target.host.alias]


def _show(ctx: Context, result: SetupLog) -> None:
    """Print the log on stdout, and where it came from and the boot's state on stderr."""
    for note in result.notes:
        click.secho(note, fg="yellow", err=True)
    if ctx.output == "json":
        ctx.emit("", result.to_json())
        return
    click.echo(f"{result.environment} ({result.instance_id}), {result.source}", err=True)
    if result.status is not None:
        failed = result.status.get("failed_steps") or "none"
        click.echo(f"boot: {result.status.get('state', 'unknown')}, failed steps: {failed}, "
                   f"updated {result.status.get('updated', 'unknown')}", err=True)
    click.echo(result.text, nl=False)
