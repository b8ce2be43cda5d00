"""In the sandbox, every address a command could aim SSH at stays on this computer."""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace

import boto3
import pytest

from envctl.cli.ssh import _check_reachable_from_sandbox
from envctl.errors import SandboxError

SEEDED_IMAGE = "ami-08a3ba5563e8b6ae3"


def test_instance_public_ip_is_loopback(fresh_cloud):
    ec2 = boto3.client("ec2", **fresh_cloud.client_settings())

    launched = ec2.run_instances(ImageId=SEEDED_IMAGE, InstanceType="t3.large", MinCount=1,
                                 MaxCount=1)
    instance_id = launched["Instances"][0]["InstanceId"]
    described = ec2.describe_instances(InstanceIds=[instance_id])
    address = described["Reservations"][0]["Instances"][0]["PublicIpAddress"]

    assert ipaddress.ip_address(address).is_loopback
    assert address != "127.0.0.1"


def test_ssh_to_other_address_rejected_in_sandbox():
    workspace = SimpleNamespace(sandbox_endpoint="http://127.0.0.1:5000")

    with pytest.raises(SandboxError, match="the sandbox runs no machines, so there is no box "
                       "at 54.214.1.2"):
        _check_reachable_from_sandbox(workspace, "54.214.1.2", "whisper")


def test_ssh_to_loopback_allowed_in_sandbox():
    workspace = SimpleNamespace(sandbox_endpoint="http://127.0.0.1:5000")

    _check_reachable_from_sandbox(workspace, "127.77.1.2", "whisper")


def test_ssh_anywhere_allowed_outside_sandbox():
    workspace = SimpleNamespace(sandbox_endpoint=None)

    _check_reachable_from_sandbox(workspace, "54.214.1.2", "whisper")
