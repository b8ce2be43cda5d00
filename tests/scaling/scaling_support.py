"""Helpers for the scale and move tests: one applied environment, and a capacity proxy.

The proxy is a real HTTP server on 127.0.0.1 in front of moto. It answers a type change to a
type without capacity the way EC2 does (InsufficientInstanceCapacity), so a swap fails at
the cloud boundary while envctl, Terraform and the provider run unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
from moto_proxy import MotoProxy, Rejection, Request, insufficient_capacity, placements

from envctl.sandbox import Sandbox
from envctl.workspace import Workspace


def keep_only(root: Path, *names: str) -> None:
    """Delete every environment file of the project at root except names, to apply fewer."""
    for path in (root / "environments").glob("*.yaml"):
        if path.stem not in names:
            path.unlink()


def drop_secrets(root: Path, name: str) -> None:
    """Remove the secrets list from an environment file, so planning needs no Vault values."""
    from ruamel.yaml import YAML

    path = root / "environments" / f"{name}.yaml"
    yaml = YAML(typ="rt")
    data = yaml.load(path.read_text())
    data.pop("secrets", None)
    with path.open("w") as handle:
        yaml.dump(data, handle)


def instance_of(workspace: Workspace, name: str) -> dict[str, Any]:
    """The environment's live instance as DescribeInstances returns it."""
    spec = workspace.project.environment(name)
    ec2 = workspace.client("ec2", spec.region)
    filters = [{"Name": "tag:envctl:environment-id", "Values": [spec.id]},
               {"Name": "instance-state-name", "Values": ["pending", "running", "stopping",
                                                          "stopped"]}]
    reservations = ec2.describe_instances(Filters=filters)["Reservations"]
    instances = [item for reservation in reservations for item in reservation["Instances"]]
    assert len(instances) == 1, instances
    return dict(instances[0])


def volumes_of(workspace: Workspace, name: str) -> list[dict[str, Any]]:
    """Every volume tagged with the environment's id, data and retired ones alike."""
    spec = workspace.project.environment(name)
    filters = [{"Name": "tag:envctl:environment-id", "Values": [spec.id]}]
    ec2 = workspace.client("ec2", spec.region)
    return list(ec2.describe_volumes(Filters=filters)["Volumes"])


class TypeCapacityProxy(MotoProxy):
    """A relay in front of moto without capacity for some instance types.

    It answers ModifyInstanceAttribute to a type in no_capacity with HTTP 400
    InsufficientInstanceCapacity. EC2 sends capacity errors as HTTP 500; 400 keeps the
    provider from retrying for minutes. It records each rejected type.
    """

    def __init__(self, sandbox: Sandbox, no_capacity: set[str]) -> None:
        super().__init__(sandbox)
        self.no_capacity = no_capacity
        self.refused: list[str] = []

    def reject(self, request: Request) -> Rejection | None:
        requested = request.params.get("InstanceType.Value")
        if request.action != "ModifyInstanceAttribute" or requested not in self.no_capacity:
            return None
        self.refused.append(requested)
        _, zone = placements(self.sandbox, [request.params["InstanceId"]])[0]
        return insufficient_capacity(400, requested, zone)


def ec2_client(sandbox: Sandbox, region: str = "us-east-1") -> Any:
    return boto3.client("ec2", **sandbox.client_settings(region))
