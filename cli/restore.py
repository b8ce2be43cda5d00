"""envctl restore: replace an environment's data volume with one made from a snapshot."""

from __future__ import annotations

import click

from envctl.cli.apply import confirm
from envctl.cli.options import (
    Context,
    engine_option,
    open_workspace,
    pass_context,
    sandbox_option,
    yes_option,
)
from envctl.cli.render import StepPrinter, plan_summary


@click.command()
@click.argument("environment")
@click.option("--snapshot", "snapshot_id", required=True, metavar="ID",
              help="Snapshot to restore, such as snap-0abc1234def567890 (see `envctl "
                   "snapshots ENV`).")
@yes_option
@sandbox_option
@engine_option
@pass_context
def restore(ctx: Context, environment: str, snapshot_id: str, yes: bool, sandbox: bool,
            engine: str | None) -> None:
    """Attach a new volume made from a snapshot in place of the environment's data volume.

    The new volume is made in the environment's zone. The current volume is kept, detached
    and tagged envctl:retired-from=ENV_ID, until you delete it. The environment file records
    volume.snapshot_id; commit it.

    \b
    Example:
      envctl restore whisper --snapshot snap-0abc1234def567890 --yes
    """
    from envctl.backups.restore import perform_restore, plan_restore

    workspace = open_workspace(ctx, sandbox, engine, None)
    printer = StepPrinter()
    planned = plan_restore(workspace, environment, snapshot_id)
    name = planned.spec.name
    click.echo(planned.describe(), err=True)
    confirm(f"Restore {name} from {snapshot_id}?", yes)
    result = perform_restore(workspace, planned,
                             on_plan=lambda plan: click.echo(plan_summary(plan), err=True),
                             on_step=printer)
    text = f"{name}: restored from {snapshot_id}; data volume {result.volume_id}"
    if result.old_volume_id:
        text += (f"; old volume {result.old_volume_id} kept. Delete it when you no longer "
                 f"need it: aws ec2 delete-volume --volume-id {result.old_volume_id}")
    ctx.emit(text, {"environment": name, "snapshot_id": snapshot_id,
                    "volume_id": result.volume_id, "old_volume_id": result.old_volume_id})
    printer.note(f"Commit {planned.spec.source.name}: it now records volume.snapshot_id.")
