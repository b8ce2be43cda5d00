"""What is running: one DescribeInstances call for every environment of a project."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envctl.definitions.spec import EnvironmentSpec
from envctl.workspace import Workspace


@dataclass(frozen=True)
class EnvironmentStatus:
    """One environment as AWS sees it now; state is 'absent' when it has no instance."""

    name: str
    environment_id: str
    state: str
    instance_type: str | None
    instance_id: str | None
    public_ip: str | None
    launch_time: str | None


def describe_environments(workspace: Workspace,
                          specs: list[EnvironmentSpec]) -> list[EnvironmentStatus]:
    """Return each spec's instance state, with one paginated call per region."""
    found: dict[str, dict[str, Any]] = {}
    for region in sorted({spec.region for spec in specs}):
        ids = [spec.id for spec in specs if spec.region == region]
        found.update(_instances_by_environment(workspace.client("ec2", region), ids))
    return [_status(spec, found.get(spec.id)) for spec in specs]


def _instances_by_environment(ec2: Any, environment_ids: list[str]) -> dict[str, dict[str, Any]]:
    filters = [
        {"Name": "tag:envctl:environment-id", "Values": environment_ids},
        {"Name": "instance-state-name",
         "Values": ["pending", "running", "stopping", "stopped", "shutting-down"]},
    ]
    found: dict[str, dict[str, Any]] = {}
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                tags = {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}
                found[tags["envctl:environment-id"]] = instance
    return found


def _status(spec: EnvironmentSpec, instance: dict[str, Any] | None) -> EnvironmentStatus:
    if instance is None:
        return EnvironmentStatus(spec.name, spec.id, "absent", None, None, None, None)
    launched = instance.get("LaunchTime")
    return EnvironmentStatus(
        name=spec.name,
        environment_id=spec.id,
        state=instance["State"]["Name"],
        instance_type=instance["InstanceType"],
        instance_id=instance["InstanceId"],
        public_ip=instance.get("PublicIpAddress"),
        launch_time=launched.isoformat() if launched else None,
    )
