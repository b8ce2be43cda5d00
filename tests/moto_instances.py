"""Instances run directly on the sandbox's moto with boto3, tagged as envctl tags them.

They stand in for an applied environment in tests that need only a box to exist, so those
tests take seconds instead of a Terraform apply.
"""

from __future__ import annotations

from typing import Any

import boto3

from envctl.definitions.spec import EnvironmentSpec
from envctl.sandbox import Sandbox


def ec2_client(sandbox: Sandbox, region: str = "us-east-1") -> Any:
    return boto3.client("ec2", **sandbox.client_settings(region))


def run_instance(sandbox: Sandbox, spec: EnvironmentSpec, instance_type: str | None = None,
                 stopped: bool = False) -> str:
    """Run the environment's instance (of instance_type, else the spec's type) and return its
    id; stopped=True stops it right after."""
    ec2 = ec2_client(sandbox, spec.region)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tags = [{"Key": "envctl:environment-id", "Value": spec.id},
            {"Key": "Name", "Value": spec.name}]
    reservation = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1,
        InstanceType=instance_type or spec.instance_type,
        Placement={"AvailabilityZone": spec.availability_zone},
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
    instance_id = str(reservation["Instances"][0]["InstanceId"])
    if stopped:
        ec2.stop_instances(InstanceIds=[instance_id])
    return instance_id


def describe(sandbox: Sandbox, instance_id: str) -> dict[str, Any]:
    """Return the instance as DescribeInstances returns it."""
    reservations = ec2_client(sandbox).describe_instances(InstanceIds=[instance_id])
    return dict(reservations["Reservations"][0]["Instances"][0])
