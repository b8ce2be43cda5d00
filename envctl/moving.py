"""Move: take an environment's data volume to another availability zone through a snapshot.

An EBS volume cannot change zone, so a zone edit alone would replace it (and the data-loss
guard refuses that). A move instead:

1. stops the box, so the snapshot is consistent, and snapshots the volume;
2. writes the new zone and volume.snapshot_id into the environment file;
3. takes the old volume out of the Terraform state (`terraform state rm`), so no plan can
   destroy it; it stays in AWS, tagged envctl:role=retired-data;
4. plans: a new volume from the snapshot in the new zone, a new box there, a new attachment.
   The data-impact label reads "volume moved via snapshot snap-..., old volume vol-... kept".

Applying that plan finishes the move. The old volume and the snapshot stay until the user
deletes them.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envctl.definitions import catalog
from envctl.definitions.editing import set_field
from envctl.definitions.loader import load_project
from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import EnvctlError
from envctl.planning.plans import EnvironmentPlan
from envctl.scaling import (
    RUNNING_STATES,
    find_data_volume,
    offered_types,
    restore_run_state,
)
from envctl.terraform.runner import StackRunner, StepCallback
from envctl.workspace import Workspace

log = logging.getLogger(__name__)

DATA_VOLUME_ADDRESS = "aws_ebs_volume.data_volume"
RETIRED_ROLE = "retired-data"
SNAPSHOT_WAIT = {"Delay": 5, "MaxAttempts": 720}


class MoveRejected(EnvctlError):
    """The move cannot start; nothing has changed."""


class MoveFailed(EnvctlError):
    """The move failed after it started; the message says where the data is."""


@dataclass(frozen=True)
class MovePlan:
    """A move prepared and planned but not applied."""

    environment: str
    environment_id: str
    zone_before: str
    zone: str
    source: Path
    original_text: str
    snapshot_id: str
    old_volume_id: str
    state_before: str
    plan: EnvironmentPlan


@dataclass(frozen=True)
class MoveResult:
    """A finished move: both volumes, the snapshot between them, and the box's run state."""

    plan: EnvironmentPlan
    snapshot_id: str
    old_volume_id: str
    new_volume_id: str | None
    zone: str
    state_after: str


def check_move(workspace: Workspace, spec: EnvironmentSpec, zone: str) -> dict[str, Any]:
    """Raise MoveRejected unless spec can move to zone; return its data volume as described."""
    zones = catalog.zones(spec.region)
    if zone not in zones:
        raise MoveRejected(f"{spec.name}: {zone!r} is not a zone of {spec.region}; use one of: "
                           f"{', '.join(zones)} (moving to another region is not supported)")
    volume = find_data_volume(workspace, spec)
    if volume is None:
        raise MoveRejected(f"{spec.name}: no data volume to move yet; set availability_zone: "
                           f"{zone} in {spec.source.name} and run `envctl apply {spec.name}`")
    if volume["AvailabilityZone"] == zone:
        raise MoveRejected(f"{spec.name}: the data volume {volume['VolumeId']} is already in "
                           f"{zone}")
    ec2 = workspace.client("ec2", spec.region)
    if spec.instance_type not in offered_types(ec2, zone, [spec.instance_type]):
        raise MoveRejected(f"{spec.name}: {spec.instance_type} is not offered in {zone}; scale "
                           f"to a type offered there first, or pick another zone")
    if spec.subnet_id:
        raise MoveRejected(f"{spec.name}: network.subnet_id {spec.subnet_id} pins the box to "
                           f"its subnet's zone; set a subnet of {zone} there, then move")
    return volume


def plan_move(workspace: Workspace, name: str, zone: str,
              on_step: StepCallback | None = None) -> MovePlan:
    """Snapshot the volume, edit the file, release the old volume from state, and plan.

    Raises MoveRejected before anything changes. When a later step fails, the file, the state
    and the run state are put back, the snapshot deleted, and the error propagates.
    """
    from envctl.inventory import describe_environments
    from envctl.lifecycle import stop

    spec = workspace.project.environment(name)
    volume = check_move(workspace, spec, zone)
    old_volume_id = str(volume["VolumeId"])
    state_before = describe_environments(workspace, [spec])[0].state
    if state_before in RUNNING_STATES:
        stop(workspace, spec.name)
    snapshot_id = snapshot_volume(workspace, spec, old_volume_id, zone)
    original_text = spec.source.read_text(encoding="utf-8")
    try:
        set_field(spec.source, ("availability_zone",), zone)
        set_field(spec.source, ("volume", "snapshot_id"), snapshot_id)
        _stack_runner(workspace, spec.id).remove_from_state(DATA_VOLUME_ADDRESS)
        plan = _plan(workspace, spec.id, on_step)
        if plan.impact.volume != "moved":
            raise MoveFailed(f"{spec.name}: the move plan does not move the volume "
                             f"({plan.impact.label()}); nothing was applied")
    except BaseException:
        _undo(workspace, spec, original_text, old_volume_id, snapshot_id, state_before)
        raise
    return MovePlan(spec.name, spec.id, str(volume["AvailabilityZone"]), zone, spec.source,
                    original_text, snapshot_id, old_volume_id, state_before, plan)


def apply_move(workspace: Workspace, planned: MovePlan,
               on_step: StepCallback | None = None) -> MoveResult:
    """Apply a planned move, tag the old volume as retired, and restore the run state."""
    from envctl.planning.run import apply_plans

    try:
        apply_plans(workspace, [planned.plan], on_step=on_step)
    except EnvctlError as error:
        # NOTE: a failed apply is not rolled back: the new zone stays in the file, so
        # `envctl apply` finishes the move. The old volume is out of the state and safe.
        raise MoveFailed(
            f"{planned.environment}: the move to {planned.zone} failed ({error}); the data is "
            f"safe on {planned.old_volume_id} in {planned.zone_before} and on snapshot "
            f"{planned.snapshot_id}; run `envctl apply {planned.environment}` to finish the "
            "move") from error
    spec = workspace.project.environment(planned.environment_id)
    new_volume = find_data_volume(workspace, spec)
    new_volume_id = str(new_volume["VolumeId"]) if new_volume else None
    retire_volume(workspace, spec, planned.old_volume_id, new_volume_id)
    state_after = restore_run_state(workspace, spec.id, planned.state_before)
    return MoveResult(planned.plan, planned.snapshot_id, planned.old_volume_id, new_volume_id,
                      planned.zone, state_after)


def cancel_move(workspace: Workspace, planned: MovePlan) -> None:
    """Drop a planned move that was not applied: everything goes back as it was."""
    spec = load_project(workspace.project.root).environment(planned.environment_id)
    _undo(workspace, spec, planned.original_text, planned.old_volume_id, planned.snapshot_id,
          planned.state_before)


def move(workspace: Workspace, name: str, zone: str,
         on_step: StepCallback | None = None) -> MoveResult:
    """Plan and apply a move in one call; see plan_move and apply_move."""
    return apply_move(workspace, plan_move(workspace, name, zone, on_step), on_step)


def snapshot_volume(workspace: Workspace, spec: EnvironmentSpec, volume_id: str,
                    zone: str) -> str:
    """Snapshot volume_id for a move to zone and wait until the snapshot is complete."""
    ec2 = workspace.client("ec2", spec.region)
    tags = [{"Key": "envctl:environment-id", "Value": spec.id},
            {"Key": "envctl:role", "Value": "move"},
            {"Key": "Name", "Value": f"{spec.name}-move-to-{zone}"}]
    snapshot = ec2.create_snapshot(
        VolumeId=volume_id, Description=f"envctl move of {spec.name} ({spec.id}) to {zone}",
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags}])
    snapshot_id = str(snapshot["SnapshotId"])
    log.info("%s: waiting for snapshot %s of %s", spec.name, snapshot_id, volume_id)
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[snapshot_id],
                                              WaiterConfig=SNAPSHOT_WAIT)
    return snapshot_id


def retire_volume(workspace: Workspace, spec: EnvironmentSpec, volume_id: str,
                  replaced_by: str | None) -> None:
    """Tag the old volume so retired_volumes() lists it and nothing takes it for the live one."""
    tags = [{"Key": "envctl:role", "Value": RETIRED_ROLE},
            {"Key": "Name", "Value": f"{spec.name}-data-retired"},
            {"Key": "envctl:retired-at",
             "Value": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}]
    if replaced_by:
        tags.append({"Key": "envctl:replaced-by", "Value": replaced_by})
    workspace.client("ec2", spec.region).create_tags(Resources=[volume_id], Tags=tags)


def retired_volumes(workspace: Workspace, spec: EnvironmentSpec) -> list[dict[str, Any]]:
    """The volumes that moves left behind for spec, as DescribeVolumes returns them."""
    filters = [{"Name": "tag:envctl:environment-id", "Values": [spec.id]},
               {"Name": "tag:envctl:role", "Values": [RETIRED_ROLE]}]
    ec2 = workspace.client("ec2", spec.region)
    return list(ec2.describe_volumes(Filters=filters)["Volumes"])


def _stack_runner(workspace: Workspace, environment_id: str) -> StackRunner:
    """Synthesize and initialize the stack of the environment as its file is now."""
    from envctl.planning.plans import synthesize
    from envctl.planning.run import runners_for

    workspace.project = load_project(workspace.project.root)
    spec = workspace.project.environment(environment_id)
    runner = runners_for(workspace, [spec], synthesize(workspace, [spec]), None)[0]
    runner.init()
    return runner


def _plan(workspace: Workspace, environment_id: str,
          on_step: StepCallback | None) -> EnvironmentPlan:
    from envctl.planning.run import plan_environments

    spec = workspace.project.environment(environment_id)
    return plan_environments(workspace, [spec], workspace.plans_dir, on_step)[0]


def _undo(workspace: Workspace, spec: EnvironmentSpec, original_text: str, volume_id: str,
          snapshot_id: str, state_before: str) -> None:
    """Put the file, the state and the run state back as before plan_move; drop the snapshot."""
    from envctl.planning.guard import recorded_volume

    log.warning("%s: undoing the move; volume %s stays", spec.name, volume_id)
    spec.source.write_text(original_text, encoding="utf-8")
    runner = _stack_runner(workspace, spec.id)
    recorded = recorded_volume(workspace, spec, runner)
    if recorded is None:
        runner.import_resource(DATA_VOLUME_ADDRESS, volume_id)
    workspace.client("ec2", spec.region).delete_snapshot(SnapshotId=snapshot_id)
    restore_run_state(workspace, spec.id, state_before)
