"""envctl move: take an environment's data volume to another zone through a snapshot."""

from __future__ import annotations

import click

from envctl.cli.options import (
    Context,
    engine_option,
    open_workspace,
    pass_context,
    sandbox_option,
    yes_option,
)


@click.command()
@click.argument("environment")
@click.option("--zone", required=True, metavar="ZONE",
              help="Availability zone to move to, in the environment's region, such as "
                   "us-east-1b.")
@yes_option
@sandbox_option
@engine_option
@pass_context
def move(ctx: Context, environment: str, zone: str, yes: bool, sandbox: bool,
         engine: str | None) -> None:
    """Move an environment to another availability zone, keeping its data.

    An EBS volume cannot change zone, so envctl stops the box, snapshots the volume, creates
    a new volume from the snapshot in ZONE and a new box there, and attaches them. The old
    volume and the snapshot stay until you delete them. The environment file gets the new
    zone and the snapshot id, so commit that edit.

    \b
    Example:
      envctl move sd-dreambooth --zone us-east-1b --yes
    """
    from envctl.cli.apply import confirm
    from envctl.cli.render import StepPrinter, plan_summary
    from envctl.moving import apply_move, check_move, plan_move

    workspace = open_workspace(ctx, sandbox, engine, None)
    spec = workspace.project.environment(environment)
    volume = check_move(workspace, spec, zone)
    click.echo(f"{spec.name}: data volume {volume['VolumeId']} is in "
               f"{volume['AvailabilityZone']}; moving it to {zone} through a snapshot. The box "
               "stops for the snapshot and is replaced in the new zone.", err=True)
    confirm(f"Move {spec.name} to {zone}?", yes)
    printer = StepPrinter()
    planned = plan_move(workspace, spec.name, zone, printer)
    click.echo(plan_summary(planned.plan), err=True)
    result = apply_move(workspace, planned, printer)
    ctx.emit(
        f"{spec.name}: moved to {zone}; data volume {result.new_volume_id} comes from snapshot "
        f"{result.snapshot_id}; the box is {result.state_after}.\n"
        f"Old volume {result.old_volume_id} is kept in {planned.zone_before}, tagged "
        "envctl:role=retired-data.",
        {"environment": spec.name, "zone": zone, "zone_before": planned.zone_before,
         "snapshot_id": result.snapshot_id, "old_volume_id": result.old_volume_id,
         "new_volume_id": result.new_volume_id, "state": result.state_after,
         "plan": result.plan.to_json()})
    printer.note(f"\nCommit {spec.source.name}. When the data checks out, delete the old "
                 f"volume with: aws ec2 delete-volume --volume-id {result.old_volume_id}")
