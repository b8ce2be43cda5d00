"""What is running: one DescribeInstances call for every environment of a project.

Every call made here sends PROBE_USER_AGENT in its User-Agent header, so CloudTrail shows which
reads were envctl's own polling (`envctl ls`, `envctl status --watch`). None of them reaches the
instance, so the on-instance autostop agent cannot count them as activity.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from envctl.definitions import catalog
from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import CloudError
from envctl.prices import on_demand_price
from envctl.resources import LAST_ACTIVITY_TAG, ROOT_VOLUME_GB
from envctl.workspace import Workspace

PROBE_USER_AGENT = "envctl-probe/1"
ENVIRONMENT_ID_TAG = "envctl:environment-id"

# States of an instance that still exists; terminated ones are history, not environments.
LIVE_STATES = ("pending", "running", "stopping", "stopped", "shutting-down")
# Rank of each state when one environment id tags several instances (a replacement in
# progress): the instance with the lowest rank represents the environment.
STATE_RANK = {"running": 0, "pending": 1, "stopping": 2, "stopped": 3, "shutting-down": 4}
# States in which AWS bills the instance hours (stopping counts until it is stopped).
BILLED_STATES = ("pending", "running", "stopping")
# NOTE: 200 ids per filter is a guess at a safe size, because the DescribeInstances reference
# states no per-filter limit. Up to this many environments per region take a single paginated call.
IDS_PER_CALL = 200


@dataclass(frozen=True)
class EnvironmentStatus:
    """One environment as DescribeInstances reports it now; state is 'absent' without an instance.

    instance_type is what the instance runs on; defined_type is what the environment file says.
    """

    name: str
    environment_id: str
    region: str
    state: str
    instance_type: str | None
    defined_type: str
    instance_id: str | None
    public_ip: str | None
    launch_time: datetime.datetime | None
    state_reason: str | None
    last_activity: datetime.datetime | None
    autostop_minutes: int | None
    storage_gb: int

    @property
    def current_type(self) -> str:
        """The type the instance has, or the file's type when there is no instance."""
        return self.instance_type or self.defined_type

    @property
    def type_drift(self) -> bool:
        """True when someone changed the instance type outside envctl."""
        return self.instance_type is not None and self.instance_type != self.defined_type

    @property
    def hourly_price(self) -> float | None:
        """On-demand USD per hour of the instance in its type; None when the catalog lacks it."""
        return on_demand_price(self.current_type, self.region)

    @property
    def hourly_cost(self) -> float | None:
        """What the instance costs per hour now: its price while billed, else 0."""
        if self.state not in BILLED_STATES:
            return 0.0
        return self.hourly_price

    def uptime(self, now: datetime.datetime) -> datetime.timedelta | None:
        """Time since the instance last started, while it runs."""
        if self.state != "running" or self.launch_time is None:
            return None
        return max(now - self.launch_time, datetime.timedelta(0))

    def to_json(self, now: datetime.datetime) -> dict[str, Any]:
        uptime = self.uptime(now)
        return {
            "name": self.name,
            "environment_id": self.environment_id,
            "region": self.region,
            "state": self.state,
            "state_reason": self.state_reason,
            "instance_id": self.instance_id,
            "instance_type": self.current_type,
            "defined_type": self.defined_type,
            "type_drift": self.type_drift,
            "gpu": gpu_label(self.current_type),
            "hourly_price": self.hourly_price,
            "hourly_cost": self.hourly_cost,
            "public_ip": self.public_ip,
            "launch_time": self.launch_time.isoformat() if self.launch_time else None,
            "uptime_seconds": int(uptime.total_seconds()) if uptime is not None else None,
            "last_activity": self.last_activity.isoformat() if self.last_activity else None,
            "autostop_minutes": self.autostop_minutes,
            "storage_gb": self.storage_gb,
        }


def gpu_label(instance_type: str) -> str | None:
    """Return the GPUs of a type, such as '4x A10G'; None without GPUs or outside the catalog."""
    known = catalog.instance_types().get(instance_type)
    if known is None or not known.has_gpu:
        return None
    return f"{known.gpu_count}x {known.gpu_name}"


def probe_config() -> Any:
    """botocore settings for envctl's own reads: the probe marker in the User-Agent."""
    from botocore.config import Config

    return Config(user_agent_extra=PROBE_USER_AGENT)


def describe_environments(workspace: Workspace,
                          specs: Sequence[EnvironmentSpec]) -> list[EnvironmentStatus]:
    """Return each spec's instance state, with one paginated call per region (up to 200 ids)."""
    found: dict[str, dict[str, Any]] = {}
    for region in sorted({spec.region for spec in specs}):
        ec2 = workspace.client("ec2", region, config=probe_config())
        ids = [spec.id for spec in specs if spec.region == region]
        for start in range(0, len(ids), IDS_PER_CALL):
            found.update(instances_by_environment(ec2, ids[start:start + IDS_PER_CALL]))
    return [environment_status(spec, found.get(spec.id)) for spec in specs]


def instances_by_environment(ec2: Any, environment_ids: Sequence[str],
                             page_size: int | None = None) -> dict[str, dict]:
    """Map each environment id to its instance, from one paginated DescribeInstances.

    page_size is the MaxResults of each page (5 to 1000); None leaves it to AWS.
    """
    filters = [
        {"Name": f"tag:{ENVIRONMENT_ID_TAG}", "Values": list(environment_ids)},
        {"Name": "instance-state-name", "Values": list(LIVE_STATES)},
    ]
    found: dict[str, dict[str, Any]] = {}
    for instance in _described_instances(ec2, filters, page_size):
        environment_id = tags_of(instance)[ENVIRONMENT_ID_TAG]
        best = found.get(environment_id)
        if best is None or _preferred(instance, best):
            found[environment_id] = instance
    return found


def _described_instances(ec2: Any, filters: list[dict[str, Any]],
                         page_size: int | None) -> list[dict[str, Any]]:
    from botocore.exceptions import BotoCoreError, ClientError

    pagination = {"PageSize": page_size} if page_size else {}
    pages = ec2.get_paginator("describe_instances").paginate(Filters=filters,
                                                             PaginationConfig=pagination)
    try:
        return [instance for page in pages for reservation in page["Reservations"]
                for instance in reservation["Instances"]]
    except (BotoCoreError, ClientError) as error:
        raise CloudError(f"DescribeInstances in {ec2.meta.region_name} failed: {error}; check "
                         "the AWS credentials and region, or pass --sandbox") from None


def _preferred(instance: dict[str, Any], other: dict[str, Any]) -> bool:
    """True when instance represents the environment better than other: by state, then age."""
    rank = STATE_RANK.get(instance["State"]["Name"], len(STATE_RANK))
    other_rank = STATE_RANK.get(other["State"]["Name"], len(STATE_RANK))
    if rank != other_rank:
        return rank < other_rank
    return bool(instance.get("LaunchTime") and other.get("LaunchTime")
                and instance["LaunchTime"] > other["LaunchTime"])


def tags_of(instance: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}


def environment_status(spec: EnvironmentSpec,
                       instance: dict[str, Any] | None) -> EnvironmentStatus:
    """Combine a spec with its instance as DescribeInstances returned it (None: no instance)."""
    storage_gb = spec.volume.size_gb + ROOT_VOLUME_GB
    if instance is None:
        return EnvironmentStatus(spec.name, spec.id, spec.region, "absent", None,
                                 spec.instance_type, None, None, None, None, None,
                                 spec.autostop_minutes, storage_gb)
    return EnvironmentStatus(
        name=spec.name,
        environment_id=spec.id,
        region=spec.region,
        state=instance["State"]["Name"],
        instance_type=instance["InstanceType"],
        defined_type=spec.instance_type,
        instance_id=instance["InstanceId"],
        public_ip=instance.get("PublicIpAddress"),
        launch_time=instance.get("LaunchTime"),
        state_reason=(instance.get("StateReason") or {}).get("Code") or None,
        last_activity=parse_time(tags_of(instance).get(LAST_ACTIVITY_TAG)),
        autostop_minutes=spec.autostop_minutes,
        storage_gb=storage_gb,
    )


def parse_time(text: str | None) -> datetime.datetime | None:
    """Read an ISO 8601 time with an offset, in UTC; None when it is missing or not such a time."""
    if not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(datetime.UTC) if moment.tzinfo is not None else None
