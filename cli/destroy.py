"""envctl destroy: remove an environment's instance and network, keeping its data volume."""

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
@click.option("--delete-volume", is_flag=True,
              help="Also delete the data volume and everything on it. Cannot be undone.")
@yes_option
@sandbox_option
@engine_option
@pass_context
def destroy(ctx: Context, environment: str, delete_volume: bool, yes: bool, sandbox: bool,
            engine: str | None) -> None:
    """Remove an environment's instance, security group and attachment.

    The data volume is kept, and `envctl apply ENV` later attaches that same volume to a
    new instance. Only --delete-volume deletes it.

    \b
    Example:
      envctl destroy whisper --yes
    """
    from envctl.backups.snapshots import take_final_snapshot
    from envctl.cli.snapshot import print_progress
    from envctl.planning.run import apply_plans, plan_destroy, retained_volume_id

    workspace = open_workspace(ctx, sandbox, engine, None)
    spec = workspace.project.environment(environment)
    printer = StepPrinter()
    plan = plan_destroy(workspace, spec, workspace.plans_dir, delete_volume, printer)
    printer.done()
    if not plan.has_changes:
        ctx.emit(f"{spec.name}: nothing to destroy", {"environment": spec.name, "changes": 0})
        return
    click.echo(plan_summary(plan), err=True)
    verb = "Destroy" if delete_volume else "Destroy (keeping the data volume)"
    confirm(f"{verb} {spec.name}?", yes)
    final = take_final_snapshot(workspace, spec, plan, print_progress) if delete_volume else None
    apply_plans(workspace, [plan], [spec.name] if delete_volume else [], printer)
    printer.done()
    if delete_volume:
        kept = f"; final snapshot {final.snapshot_id} kept" if final else ""
        ctx.emit(f"{spec.name}: destroyed, data volume deleted{kept}",
                 {"environment": spec.name, "volume_id": None,
                  "final_snapshot_id": final.snapshot_id if final else None})
        return
    volume_id = retained_volume_id(workspace, spec)
    ctx.emit(f"{spec.name}: destroyed; data volume {volume_id} kept.\n"
             f"Bring it back with: envctl apply {spec.name}",
             {"environment": spec.name, "volume_id": volume_id})
