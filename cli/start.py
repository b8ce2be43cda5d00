"""envctl start: start a stopped environment, on another type when its own has no capacity."""

from __future__ import annotations

import click

from envctl.cli.options import Context, open_workspace, pass_context, sandbox_option


@click.command()
@click.argument("environment")
@click.option("--type", "instance_type", default=None,
              help="Start on this instance type instead (the data volume stays attached); "
                   "it is written into the environment file.")
@sandbox_option
@pass_context
def start(ctx: Context, environment: str, instance_type: str | None, sandbox: bool) -> None:
    """Start an environment's stopped instance and wait until it runs.

    First the EC2 vCPU quota of the type's family is checked against what the account
    runs. When AWS has no capacity for the instance's type, envctl tries the environment's
    fallback types in order, or names similar types to pass with --type. A new type is
    written into the environment file, so commit that edit; the next plan then shows no
    change.

    \b
    Example:
      envctl start whisper
      envctl start whisper --type g6.xlarge
    """
    from envctl.capacity import start_with_fallback

    workspace = open_workspace(ctx, sandbox, None, None)
    result = start_with_fallback(workspace, environment, instance_type)
    ctx.emit(str(result), {
        "environment": result.environment,
        "instance_id": result.instance_id,
        "instance_type": result.instance_type,
        "previous_type": result.previous_type,
        "already_running": result.already_running,
        "file_updated": result.file_updated,
        "no_capacity": list(result.no_capacity),
    })
