"""envctl stop: stop an environment's instance; its volumes stay."""

from __future__ import annotations

import click

from envctl.cli.options import Context, open_workspace, pass_context, sandbox_option, yes_option


@click.command()
@click.argument("environment")
@yes_option
@sandbox_option
@pass_context
def stop(ctx: Context, environment: str, yes: bool, sandbox: bool) -> None:
    """Stop an environment's instance and wait until it is stopped.

    The data volume and the root disk stay, and so does the instance: `envctl start` brings
    it back. Plans and applies leave a stopped instance stopped. Anything running on the box
    ends, so envctl asks first.

    \b
    Example:
      envctl stop whisper --yes
    """
    from envctl.cli.apply import confirm
    from envctl.lifecycle import stop as stop_environment

    workspace = open_workspace(ctx, sandbox, None, None)
    spec = workspace.project.environment(environment)
    confirm(f"Stop {spec.name}? Processes on it end; its volumes stay.", yes)
    result = stop_environment(workspace, spec.name)
    ctx.emit(f"{result}\nStart it again with: envctl start {spec.name}", {
        "environment": result.environment,
        "instance_id": result.instance_id,
        "state": "stopped",
        "already_stopped": result.already_stopped,
    })
