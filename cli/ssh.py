"""envctl ssh: a shell or a command on an environment's instance, over the system's ssh."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from envctl.cli.apply import confirm
from envctl.cli.options import Context, open_workspace, pass_context, sandbox_option, yes_option
from envctl.errors import EnvctlError, SandboxError

if TYPE_CHECKING:
    from envctl.definitions.spec import EnvironmentSpec
    from envctl.personal import UserSettings
    from envctl.sshconfig import SshHost
    from envctl.workspace import Workspace


@dataclass(frozen=True)
class Target:
    """A running environment with its Host entry written to envctl's ssh config file."""

    spec: EnvironmentSpec
    host: SshHost
    settings: UserSettings
    config_file: Path


@click.command()
@click.argument("environment")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@yes_option
@sandbox_option
@pass_context
def ssh(ctx: Context, environment: str, command: tuple[str, ...], yes: bool,
        sandbox: bool) -> None:
    """Log in to an environment, or run COMMAND there, with the system's ssh.

    A stopped environment is started first, after asking (--yes starts it without asking).
    The exit status is ssh's.

    \b
    Example:
      envctl ssh whisper
      envctl ssh whisper -- nvidia-smi
    """
    target = reach(ctx, environment, sandbox, yes)
    argv = [*ssh_command(target), "--", target.host.alias, *command]
    click.get_current_context().exit(subprocess.run(argv, check=False).returncode)


def reach(ctx: Context, name: str, sandbox: bool, yes: bool) -> Target:
    """Make sure the environment runs, then write its Host entry; ask before starting it."""
    from envctl.inventory import describe_environments
    from envctl.lifecycle import start
    from envctl.personal import load_user_settings
    from envctl.sshconfig import host_for, send_public_key, ssh_config_file, write_host

    settings = load_user_settings()
    workspace = open_workspace(ctx, sandbox, None, None)
    spec = workspace.project.environment(name)
    status = describe_environments(workspace, [spec])[0]
    if status.state == "absent":
        raise EnvctlError(f"{name}: no instance; create it with `envctl apply {name}`")
    if status.state in ("stopped", "stopping"):
        confirm(f"{name} is {status.state}. Start it?", yes)
    if status.state != "running":
        click.echo(str(start(workspace, name)), err=True)
        status = describe_environments(workspace, [spec])[0]
    host = host_for(spec, status, settings)
    _check_reachable_from_sandbox(workspace, host.hostname, name)
    if send_public_key(workspace, spec, status, settings):
        click.echo(f"Sent your public key to {status.instance_id} with EC2 Instance Connect; "
                   "it is accepted for 60 seconds.", err=True)
    config_file = ssh_config_file()
    write_host(config_file, host, spec)
    return Target(spec, host, settings, config_file)


def _check_reachable_from_sandbox(workspace: Workspace, address: str, name: str) -> None:
    """Stop before ssh leaves the machine: in the sandbox, only loopback addresses are reached.

    moto records instances but runs none. Its own public addresses (54.214.0.0/16) belong to
    real AWS customers, and the sandbox replaces them with loopback ones; this is the check.
    """
    import ipaddress

    if workspace.sandbox_endpoint is None or ipaddress.ip_address(address).is_loopback:
        return
    raise SandboxError(f"{name}: the sandbox runs no machines, so there is no box at {address} "
                       "to reach over SSH; drop --sandbox (and ENVCTL_SANDBOX) to reach a real "
                       "environment")


def ssh_command(target: Target) -> list[str]:
    """Return ssh and the options that find the Host entry, with or without the Include."""
    from envctl.sshconfig import includes, user_ssh_config

    program = shutil.which("ssh")
    if program is None:
        raise EnvctlError("ssh not found on PATH; install the OpenSSH client")
    if includes(user_ssh_config(), target.config_file):
        return [program]
    # Without the Include line, ssh reads envctl's file alone and none of the user's own.
    return [program, "-F", str(target.config_file)]
