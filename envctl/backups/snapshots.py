"""Snapshots of an environment's data volume: take one and wait for it, list them, look one up.

Snapshots belong to an environment through the envctl:environment-id tag, which envctl puts
on the snapshots it takes and DLM copies from the volume onto scheduled ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from envctl.backups.pricing import monthly_cost
from envctl.backups.tags import DLM_POLICY_TAG, ENVIRONMENT_TAG, KIND_TAG, NOTE_TAG
from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import CloudError, EnvctlError
from envctl.resources import base_tags
from envctl.workspace import Workspace

if TYPE_CHECKING:
    from envctl.planning.plans import EnvironmentPlan

log = logging.getLogger(__name__)

# Called as on_progress(snapshot_id, progress) while a snapshot is pending; progress is what
# EC2 reports, such as "45%".
ProgressCallback = Callable[[str, str], None]

# EC2 limits a snapshot description to 255 characters.
MAX_NOTE_LENGTH = 255
POLL_SECONDS = 5.0
LIVE_VOLUME_STATES = ["creating", "available", "in-use"]
GIB = 1024**3


class SnapshotNotFound(CloudError):
    """The region has no snapshot with the requested id."""


@dataclass(frozen=True)
class Snapshot:
    """One EBS snapshot as EC2 describes it, with envctl's note and kind."""

    snapshot_id: str
    volume_id: str
    environment_id: str | None
    region: str
    started: datetime
    state: str
    progress: str
    # The snapshot's full size when EC2 reports it (FullSnapshotSizeInBytes, rounded up),
    # else the size of the volume it was taken from.
    # NOTE: either is an upper bound. The blocks an incremental snapshot adds are known only
    # through the EBS direct APIs, which envctl does not call.
    size_gib: int
    volume_size_gib: int
    encrypted: bool
    storage_tier: str
    note: str
    kind: str

    @property
    def monthly_cost(self) -> float | None:
        """USD per month to store size_gib at the shipped price, an upper bound."""
        return monthly_cost(self.size_gib, self.region, self.storage_tier)

    def to_json(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id,
            "volume_id": self.volume_id,
            "environment_id": self.environment_id,
            "region": self.region,
            "started": self.started.isoformat(),
            "state": self.state,
            "progress": self.progress,
            "size_gib": self.size_gib,
            "volume_size_gib": self.volume_size_gib,
            "encrypted": self.encrypted,
            "storage_tier": self.storage_tier,
            "note": self.note,
            "kind": self.kind,
            "monthly_cost_usd": self.monthly_cost,
        }


def snapshot_from(description: dict[str, Any], region: str) -> Snapshot:
    """Build a Snapshot from one entry of DescribeSnapshots."""
    tags = {tag["Key"]: tag["Value"] for tag in description.get("Tags", [])}
    full_bytes = description.get("FullSnapshotSizeInBytes")
    size_gib = -(-int(full_bytes) // GIB) if full_bytes else int(description["VolumeSize"])
    kind = tags.get(KIND_TAG) or ("scheduled" if DLM_POLICY_TAG in tags else "other")
    return Snapshot(
        snapshot_id=description["SnapshotId"],
        volume_id=description.get("VolumeId", ""),
        environment_id=tags.get(ENVIRONMENT_TAG),
        region=region,
        started=description["StartTime"],
        state=description["State"],
        progress=description.get("Progress") or "",
        size_gib=size_gib,
        volume_size_gib=int(description["VolumeSize"]),
        encrypted=bool(description.get("Encrypted")),
        storage_tier=description.get("StorageTier") or "standard",
        note=tags.get(NOTE_TAG, ""),
        kind=kind,
    )


def data_volume_id(workspace: Workspace, spec: EnvironmentSpec) -> str:
    """Find the environment's data volume by its tags, without Terraform.

    A volume that a restore detached has lost the environment-id tag, so it never matches.
    """
    ec2 = workspace.client("ec2", spec.region)
    filters = [
        {"Name": f"tag:{ENVIRONMENT_TAG}", "Values": [spec.id]},
        {"Name": "tag:envctl:role", "Values": ["data"]},
        {"Name": "status", "Values": LIVE_VOLUME_STATES},
    ]
    volumes = call(f"list the data volume of {spec.name}", ec2.describe_volumes,
                   Filters=filters)["Volumes"]
    if not volumes:
        raise EnvctlError(f"{spec.name}: no data volume tagged {ENVIRONMENT_TAG}={spec.id} in "
                          f"{spec.region}; create it with `envctl apply {spec.name}`")
    if len(volumes) > 1:
        ids = ", ".join(sorted(volume["VolumeId"] for volume in volumes))
        raise EnvctlError(f"{spec.name}: several volumes are tagged {ENVIRONMENT_TAG}={spec.id} "
                          f"({ids}); remove that tag from all but the attached one")
    return str(volumes[0]["VolumeId"])


def take_snapshot(workspace: Workspace, spec: EnvironmentSpec, note: str = "",
                  kind: str = "manual", volume_id: str | None = None,
                  on_progress: ProgressCallback | None = None,
                  poll_seconds: float = POLL_SECONDS) -> Snapshot:
    """Snapshot the environment's data volume and wait until the snapshot completes.

    volume_id defaults to the volume data_volume_id finds.
    """
    if len(note) > MAX_NOTE_LENGTH:
        raise EnvctlError(f"{spec.name}: the note is {len(note)} characters, over EC2's "
                          f"{MAX_NOTE_LENGTH} for a snapshot description; shorten it")
    volume_id = volume_id or data_volume_id(workspace, spec)
    tags = {**base_tags(spec), KIND_TAG: kind}
    if note:
        tags[NOTE_TAG] = note
    ec2 = workspace.client("ec2", spec.region)
    created = call(
        f"snapshot volume {volume_id} of {spec.name}", ec2.create_snapshot,
        VolumeId=volume_id,
        Description=note or f"envctl {kind} snapshot of {spec.name}",
        TagSpecifications=[{
            "ResourceType": "snapshot",
            "Tags": [{"Key": key, "Value": value} for key, value in sorted(tags.items())],
        }],
    )
    log.info("%s: snapshot %s of %s started", spec.name, created["SnapshotId"], volume_id)
    return wait_until_completed(workspace, spec.region, created["SnapshotId"], on_progress,
                                poll_seconds)


def wait_until_completed(workspace: Workspace, region: str, snapshot_id: str,
                         on_progress: ProgressCallback | None = None,
                         poll_seconds: float = POLL_SECONDS) -> Snapshot:
    """Poll a snapshot until it completes, reporting each new progress value.

    There is no time limit, because a first snapshot of a large volume can take hours. Ctrl-C
    stops the waiting, not the snapshot.
    """
    reported = ""
    while True:
        snapshot = describe_snapshot(workspace, region, snapshot_id)
        if on_progress is not None and snapshot.progress != reported:
            on_progress(snapshot_id, snapshot.progress)
            reported = snapshot.progress
        if snapshot.state == "completed":
            return snapshot
        if snapshot.state in ("error", "recoverable", "recovering"):
            raise CloudError(f"snapshot {snapshot_id} is in state {snapshot.state!r}, not "
                             "completed; see `aws ec2 describe-snapshots --snapshot-ids "
                             f"{snapshot_id}` for the reason")
        time.sleep(poll_seconds)


def describe_snapshot(workspace: Workspace, region: str, snapshot_id: str) -> Snapshot:
    """Look up one snapshot; raise SnapshotNotFound when the region has no such snapshot."""
    from botocore.exceptions import ClientError

    missing = SnapshotNotFound(f"snapshot {snapshot_id} not found in {region}; list them with "
                         "`envctl snapshots ENV`")
    ec2 = workspace.client("ec2", region)
    try:
        found = call(f"describe snapshot {snapshot_id}", ec2.describe_snapshots,
                     SnapshotIds=[snapshot_id])["Snapshots"]
    except CloudError as error:
        code = ""
        if isinstance(error.__cause__, ClientError):
            code = error.__cause__.response.get("Error", {}).get("Code", "")
        if code.startswith("InvalidSnapshot"):
            raise missing from None
        raise
    if not found:
        raise missing
    return snapshot_from(found[0], region)


def take_final_snapshot(workspace: Workspace, spec: EnvironmentSpec, plan: EnvironmentPlan,
                        on_progress: ProgressCallback | None = None) -> Snapshot | None:
    """Snapshot the data volume that a destroy plan deletes, if backup.final_snapshot is set.

    Returns None when final_snapshot is off or the plan keeps the volume.
    """
    from envctl.planning.run import DATA_VOLUME_ADDRESS, retained_volume_id

    if spec.backup is None or not spec.backup.final_snapshot:
        return None
    if (DATA_VOLUME_ADDRESS, "delete") not in plan.changes:
        return None
    volume_id = retained_volume_id(workspace, spec)
    if volume_id is None:
        return None
    return take_snapshot(workspace, spec, note="final snapshot before the volume was deleted",
                         kind="final", volume_id=volume_id, on_progress=on_progress)


def check_fits(spec: EnvironmentSpec, snapshot: Snapshot) -> None:
    """Reject a snapshot that is not complete, too big, or encrypted for an unencrypted volume."""
    where = f"{spec.name}: snapshot {snapshot.snapshot_id}"
    if snapshot.state != "completed":
        raise EnvctlError(f"{where} is {snapshot.state}, not completed; wait for it and retry")
    if snapshot.volume_size_gib > spec.volume.size_gb:
        raise EnvctlError(f"{where} is of a {snapshot.volume_size_gib} GiB volume, larger than "
                          f"volume.size_gb {spec.volume.size_gb}; set volume.size_gb to at "
                          f"least {snapshot.volume_size_gib} in {spec.source}")
    if snapshot.encrypted and not spec.volume.encrypted:
        raise EnvctlError(f"{where} is encrypted, so the volume made from it is too; set "
                          f"volume.encrypted: true in {spec.source}")


def list_snapshots(workspace: Workspace, spec: EnvironmentSpec) -> list[Snapshot]:
    """Return every snapshot in this account tagged with the environment's id, oldest first."""
    ec2 = workspace.client("ec2", spec.region)
    pages = ec2.get_paginator("describe_snapshots").paginate(
        OwnerIds=["self"], Filters=[{"Name": f"tag:{ENVIRONMENT_TAG}", "Values": [spec.id]}])
    snapshots: list[Snapshot] = []
    for page in call(f"list the snapshots of {spec.name}", list, pages):
        snapshots.extend(snapshot_from(item, spec.region) for item in page["Snapshots"])
    return sorted(snapshots, key=lambda snapshot: (snapshot.started, snapshot.snapshot_id))


def call(action: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one AWS call; turn botocore's errors into a CloudError that names the action."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return function(*args, **kwargs)
    except ClientError as error:
        details = error.response.get("Error", {})
        raise CloudError(f"failed to {action}: {details.get('Code', 'error')}: "
                         f"{details.get('Message', error)}") from error
    except BotoCoreError as error:
        raise CloudError(f"failed to {action}: {error}") from error
