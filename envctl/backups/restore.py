"""Restore: swap an environment's data volume for a new one made from a snapshot.

The old volume is never destroyed. It leaves the Terraform state (`terraform state rm`), stays
in AWS detached and retagged envctl:retired-from=<environment id>, and the new volume is
imported in its place. The environment file records volume.snapshot_id, so the stack declares
the snapshot and a fresh state would recreate the same content. An apply then moves the
attachment to the new volume.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from envctl.backups.snapshots import Snapshot, call, check_fits, describe_snapshot
from envctl.backups.tags import ENVIRONMENT_TAG, REPLACED_BY_TAG, RETIRED_TAG
from envctl.definitions.editing import set_field
from envctl.definitions.loader import load_project
from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import EnvctlError
from envctl.planning.plans import EnvironmentPlan, synthesize
from envctl.planning.run import (
    DATA_VOLUME_ADDRESS,
    apply_plans,
    plan_environments,
    retained_volume_id,
    runners_for,
)
from envctl.resources import volume_tags
from envctl.terraform.runner import StackRunner, StepCallback
from envctl.workspace import Workspace

# Called with the plan that moves the attachment, before it is applied.
PlanCallback = Callable[[EnvironmentPlan], None]


class StateNotRestored(EnvctlError):
    """Importing the new volume failed, and so did importing the old one back."""


@dataclass(frozen=True)
class RestorePlan:
    """A restore's snapshot and the volume it replaces, worked out before anything changes."""

    spec: EnvironmentSpec
    snapshot: Snapshot
    # The volume in the state now; None when the environment has none, and then the apply
    # creates the volume from the snapshot.
    old_volume_id: str | None

    def describe(self) -> str:
        snapshot = self.snapshot
        source = (f"{snapshot.snapshot_id} ({snapshot.volume_size_gib} GiB volume, taken "
                  f"{snapshot.started:%Y-%m-%d %H:%M %Z})")
        zone = self.spec.availability_zone
        if self.old_volume_id is None:
            return (f"{self.spec.name}: has no data volume now; the apply creates one in {zone} "
                    f"from {source}")
        return (f"{self.spec.name}: a new volume in {zone} from {source} replaces "
                f"{self.old_volume_id}. {self.old_volume_id} is kept, detached and tagged "
                f"{RETIRED_TAG}={self.spec.id}, until you delete it. The instance is replaced "
                "too, because its boot script names the volume it mounts: the root disk starts "
                "fresh and setup runs again, while everything on the data volume comes from "
                "the snapshot. The plan printed next shows the rest")


@dataclass(frozen=True)
class RestoreResult:
    """The environment after a restore: its new volume and the one it kept."""

    environment: str
    snapshot_id: str
    volume_id: str
    old_volume_id: str | None
    plan: EnvironmentPlan
    outputs: dict[str, Any]


def plan_restore(workspace: Workspace, name: str, snapshot_id: str) -> RestorePlan:
    """Check that the snapshot fits the environment and find the volume it replaces."""
    spec = workspace.project.environment(name)
    snapshot = describe_snapshot(workspace, spec.region, snapshot_id)
    check_fits(spec, snapshot)
    _stack_runner(workspace, spec)
    return RestorePlan(spec, snapshot, retained_volume_id(workspace, spec))


def perform_restore(workspace: Workspace, restore: RestorePlan,
                    on_plan: PlanCallback | None = None,
                    on_step: StepCallback | None = None) -> RestoreResult:
    """Make the new volume, swap it into the state, and apply so the attachment moves."""
    spec, snapshot_id = restore.spec, restore.snapshot.snapshot_id
    old_volume_id = restore.old_volume_id
    if old_volume_id is None:
        spec = _record_snapshot(workspace, spec, snapshot_id)
        label = f"created from {snapshot_id}"
        return _apply(workspace, spec, restore, label, on_plan, on_step)

    volume_id = create_volume(workspace, spec, restore.snapshot)
    previous_text = spec.source.read_text(encoding="utf-8")
    try:
        spec = _record_snapshot(workspace, spec, snapshot_id)
        _swap_in_state(_stack_runner(workspace, spec), old_volume_id, volume_id)
    except StateNotRestored:
        raise
    except EnvctlError as error:
        spec.source.write_text(previous_text, encoding="utf-8")
        workspace.project = load_project(workspace.project.root)
        raise EnvctlError(f"{spec.name}: restore failed and was undone: {error}. The new "
                          f"volume {volume_id} is left detached; delete it with `aws ec2 "
                          f"delete-volume --volume-id {volume_id}`") from error
    retire_volume(workspace, spec, old_volume_id, volume_id)
    label = f"replaced by restore from {snapshot_id}; old volume {old_volume_id} kept"
    return _apply(workspace, spec, restore, label, on_plan, on_step)


def create_volume(workspace: Workspace, spec: EnvironmentSpec, snapshot: Snapshot) -> str:
    """Create a volume from the snapshot with the spec's settings and tags; wait until ready."""
    volume = spec.volume
    arguments: dict[str, Any] = {
        "AvailabilityZone": spec.availability_zone,
        "SnapshotId": snapshot.snapshot_id,
        "Size": volume.size_gb,
        "VolumeType": volume.type,
        "Encrypted": volume.encrypted,
        "TagSpecifications": [{
            "ResourceType": "volume",
            "Tags": [{"Key": key, "Value": value} for key, value in volume_tags(spec).items()],
        }],
    }
    if volume.iops is not None:
        arguments["Iops"] = volume.iops
    if volume.throughput is not None:
        arguments["Throughput"] = volume.throughput
    ec2 = workspace.client("ec2", spec.region)
    action = f"create a volume from {snapshot.snapshot_id} for {spec.name}"
    volume_id = str(call(action, ec2.create_volume, **arguments)["VolumeId"])
    waiter = ec2.get_waiter("volume_available")
    call(f"wait for volume {volume_id}", waiter.wait, VolumeIds=[volume_id],
         WaiterConfig={"Delay": 2, "MaxAttempts": 300})
    return volume_id


def retire_volume(workspace: Workspace, spec: EnvironmentSpec, old_volume_id: str,
                  new_volume_id: str) -> None:
    """Retag the replaced volume, so that neither the policy nor envctl takes it for the data
    volume, and so that its tags name the environment and the volume that replaced it."""
    ec2 = workspace.client("ec2", spec.region)
    tags = {RETIRED_TAG: spec.id, REPLACED_BY_TAG: new_volume_id, "Name": f"{spec.name}-retired"}
    call(f"tag the retired volume {old_volume_id}", ec2.create_tags, Resources=[old_volume_id],
         Tags=[{"Key": key, "Value": value} for key, value in sorted(tags.items())])
    call(f"untag the retired volume {old_volume_id}", ec2.delete_tags,
         Resources=[old_volume_id], Tags=[{"Key": ENVIRONMENT_TAG}])


def _swap_in_state(runner: StackRunner, old_volume_id: str, volume_id: str) -> None:
    runner.remove_from_state(DATA_VOLUME_ADDRESS)
    try:
        runner.import_resource(DATA_VOLUME_ADDRESS, volume_id)
    except EnvctlError as error:
        # Put the old volume back, so a failed import leaves the state as it was.
        try:
            runner.import_resource(DATA_VOLUME_ADDRESS, old_volume_id)
        except EnvctlError:
            raise StateNotRestored(
                f"importing {volume_id} failed ({error}), and so did importing {old_volume_id} "
                f"back; run `terraform import {DATA_VOLUME_ADDRESS} {old_volume_id}` in "
                f"{runner.stack_dir} before anything else") from error
        raise


def _record_snapshot(workspace: Workspace, spec: EnvironmentSpec,
                     snapshot_id: str) -> EnvironmentSpec:
    set_field(spec.source, ("volume", "snapshot_id"), snapshot_id)
    workspace.project = load_project(workspace.project.root)
    return workspace.project.environment(spec.id)


def _stack_runner(workspace: Workspace, spec: EnvironmentSpec) -> StackRunner:
    folders = synthesize(workspace, [spec])
    runner = runners_for(workspace, [spec], folders, None)[0]
    runner.init()
    return runner


def _apply(workspace: Workspace, spec: EnvironmentSpec, restore: RestorePlan, label: str,
           on_plan: PlanCallback | None, on_step: StepCallback | None) -> RestoreResult:
    plan = plan_environments(workspace, [spec], workspace.plans_dir, on_step)[0]
    plan = relabel(plan, label)
    if on_plan is not None:
        on_plan(plan)
    try:
        results = apply_plans(workspace, [plan], on_step=on_step)
    except EnvctlError as error:
        raise EnvctlError(f"{spec.name}: the volume from {restore.snapshot.snapshot_id} is in "
                          f"the state, but the apply failed: {error}; finish with `envctl "
                          f"apply {spec.name}`") from error
    outputs = results[0].outputs if results else {}
    return RestoreResult(
        environment=spec.name,
        snapshot_id=restore.snapshot.snapshot_id,
        volume_id=str(outputs.get("volume_id") or retained_volume_id(workspace, spec)),
        old_volume_id=restore.old_volume_id,
        plan=plan,
        outputs=outputs,
    )


def relabel(plan: EnvironmentPlan, label: str) -> EnvironmentPlan:
    """Name the restore in the plan's volume label, unless the plan would lose the volume.

    A plan that replaces or destroys the new volume keeps its label, so the data-loss check
    still rejects it.
    """
    if plan.impact.loses_data:
        return plan
    reason = f"{DATA_VOLUME_ADDRESS}: {label}"
    if plan.impact.volume not in ("kept", "created"):
        reason += f" (then {plan.impact.volume})"
    impact = dataclasses.replace(plan.impact, volume=label,
                                 reasons=(reason, *plan.impact.reasons))
    return dataclasses.replace(plan, impact=impact)
