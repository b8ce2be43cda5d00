"""`envctl create --template` then `envctl apply`, through the CLI on the sandbox.

Real Terraform, hashicorp/aws 3.39.0 and moto: one apply of a GPU environment with its
autostop alarm, about a minute including the sandbox start.
"""

from __future__ import annotations

import json

import boto3
import pytest
from click.testing import CliRunner

from envctl.cli.main import cli
from envctl.sandbox.record import write_record

pytestmark = pytest.mark.e2e


def run(root, *args):
    return CliRunner().invoke(cli, ["--project", str(root), "--output", "json", *args])


def test_created_environment_applies(make_project, settings_file, fresh_cloud, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings_file("name: alice\n")
    root = make_project()
    write_record(root, fresh_cloud)

    created = run(root, "create", "asr", "--template", "whisper", "--type", "g5.xlarge")
    applied = run(root, "apply", "asr", "--sandbox", "--yes")

    assert created.exit_code == 0, created.stderr
    assert applied.exit_code == 0, applied.stderr
    environment_id = json.loads(created.stdout)["id"]
    outputs = json.loads(applied.stdout)["asr"]
    ec2 = boto3.client("ec2", **fresh_cloud.client_settings("us-east-1"))
    instance = ec2.describe_instances(InstanceIds=[outputs["instance_id"]])[
        "Reservations"][0]["Instances"][0]
    tags = {tag["Key"]: tag["Value"] for tag in instance["Tags"]}
    assert instance["InstanceType"] == "g5.xlarge"
    assert tags["envctl:environment-id"] == environment_id
    assert tags["envctl:template"] == "whisper"
    assert tags["owner"] == "alice"
    volume = ec2.describe_volumes(VolumeIds=[outputs["volume_id"]])["Volumes"][0]
    assert volume["Size"] == 100
    assert volume["AvailabilityZone"] == instance["Placement"]["AvailabilityZone"]
