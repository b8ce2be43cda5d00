"""envctl sandbox: start, inspect and stop the local cloud (moto and an OpenBao dev server)."""

from __future__ import annotations

from pathlib import Path

import click

from envctl.cli.options import Context, pass_context
from envctl.definitions.loader import find_root
from envctl.errors import DefinitionError
from envctl.sandbox import lifecycle
from envctl.sandbox.record import log_dir


@click.group()
def sandbox() -> None:
    """Run a local AWS (moto) and Vault (OpenBao) on 127.0.0.1 for trying envctl offline.

    The servers run in the background until `envctl sandbox down`; their record and logs
    live in <project>/.envctl/.
    """


@sandbox.command()
@pass_context
def up(ctx: Context) -> None:
    """Start the sandbox, or find the one already running, and print its endpoints.

    JSON output (--output json) also carries the environment variables for AWS and Vault
    clients, the Vault root token included.

    \b
    Example:
      envctl sandbox up
    """
    root = _sandbox_root(ctx)
    started = lifecycle.up(root)
    lines = [
        f"aws:   {started.aws_endpoint} (pid {started.pids['aws']})",
        f"vault: {started.vault_address} (pid {started.pids['vault']})",
        f"logs:  {log_dir(root)}",
        # The follow-up commands that envctl prints do not repeat --sandbox.
        "use:   add --sandbox to each envctl command, or export ENVCTL_SANDBOX=1",
        "stop:  envctl sandbox down",
    ]
    ctx.emit("\n".join(lines), {
        "aws_endpoint": started.aws_endpoint,
        "vault_address": started.vault_address,
        "pids": started.pids,
        "environment": started.environment(),
    })


@sandbox.command()
@pass_context
def status(ctx: Context) -> None:
    """Print whether each sandbox service (aws, vault) is running or stopped."""
    root = _sandbox_root(ctx)
    states = lifecycle.status(root)
    running = lifecycle.current(root)
    addresses = {}
    if running is not None:
        addresses = {service: lifecycle.address(running, service) for service in states}
    lines = [f"{service}: {state} {addresses.get(service, '')}".rstrip()
             for service, state in states.items()]
    ctx.emit("\n".join(lines), {"services": states, "addresses": addresses})


@sandbox.command()
@pass_context
def down(ctx: Context) -> None:
    """Stop the sandbox servers and delete their record; every resource in them is lost."""
    stopped = lifecycle.down(_sandbox_root(ctx))
    ctx.emit("sandbox stopped" if stopped else "no sandbox was running", {"stopped": stopped})


def _sandbox_root(ctx: Context) -> Path:
    """Return the project root above --project, or the --project folder outside a project."""
    try:
        return find_root(Path(ctx.project_dir))
    except DefinitionError:
        return Path(ctx.project_dir).resolve()
