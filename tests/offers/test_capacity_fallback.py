"""apply with instance.types: the next listed type when AWS has no capacity, in the same zone.

Real Terraform, hashicorp/aws 3.39.0 and moto, with CapacityProxy between them rejecting
RunInstances for the types in proxy.no_capacity as EC2 does. Cost: one full apply (about
40 s), two applies that fail before the instance exists, and a few plans.
"""

from __future__ import annotations

import logging

import boto3
import pytest
from capacity_proxy import CapacityProxy

from envctl.definitions.loader import load_project
from envctl.lifecycle import CapacityError
from envctl.planning.run import apply_plans, plan_environments
from envctl.quotas import QuotaExceeded
from envctl.workspace import Workspace, open_workspace

pytestmark = pytest.mark.e2e

# The Deep Learning AMI the sandbox serves; no setup, repos or autostop, to keep user data
# small and the applies short.
ENVIRONMENT = """\
id: {id}
name: {name}
owner: alice
availability_zone: us-east-1a
instance:
  types: [g5.xlarge, g6.xlarge]
image:
  ami: ami-0b59d5556c9fbaa39
volume:
  size_gb: 20
autostop:
  idle_minutes: null
"""
ENVIRONMENTS = {"gpu": "env-0c0ffee1", "scarce": "env-0c0ffee2", "over-quota": "env-0c0ffee3"}


class Attempts(logging.Handler):
    """Keep the capacity fallback's log lines, for asserting what was tried."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory, sandbox):
    """A project of three environments whose AWS traffic passes through a CapacityProxy."""
    from envctl.sandbox import reset_cloud

    reset_cloud(sandbox)
    root = tmp_path_factory.mktemp("capacity") / "project"
    (root / "environments").mkdir(parents=True)
    (root / "envctl.yaml").write_text("region: us-east-1\nssh:\n  allowed_cidrs: "
                                      "[203.0.113.0/24]\n")
    for name, environment_id in ENVIRONMENTS.items():
        (root / "environments" / f"{name}.yaml").write_text(
            ENVIRONMENT.format(id=environment_id, name=name))
    # hashicorp/aws 3.39.0 retries an HTTP 500 from RunInstances for up to an hour.
    proxy = CapacityProxy(sandbox, status=400).start()
    attempts = Attempts()
    logging.getLogger("envctl.capacity").addHandler(attempts)
    workspace = open_workspace(load_project(root), sandbox=True, parallelism=2,
                               running=proxy.sandbox_behind())
    yield workspace, proxy, attempts
    logging.getLogger("envctl.capacity").removeHandler(attempts)
    proxy.stop()


def ec2_of(sandbox):
    return boto3.client("ec2", **sandbox.client_settings())


def tagged(sandbox, kind: str, environment_id: str) -> list[dict]:
    ec2 = ec2_of(sandbox)
    tag_filter = [{"Name": "tag:envctl:environment-id", "Values": [environment_id]}]
    if kind == "volume":
        return list(ec2.describe_volumes(Filters=tag_filter)["Volumes"])
    states = {"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]}
    reservations = ec2.describe_instances(Filters=[*tag_filter, states])["Reservations"]
    return [instance for reservation in reservations for instance in reservation["Instances"]]


def plan_and_apply(workspace: Workspace, name: str) -> list:
    spec = workspace.project.environment(name)
    plans = plan_environments(workspace, [spec], workspace.plans_dir)
    return apply_plans(workspace, plans)


@pytest.fixture(scope="module")
def fell_back(behind_proxy, sandbox):
    """gpu applied while us-east-1a has no g5.xlarge capacity."""
    workspace, proxy, attempts = behind_proxy
    proxy.no_capacity = {"g5.xlarge"}
    (result,) = plan_and_apply(workspace, "gpu")
    return result, list(proxy.rejected), list(attempts.lines)


def test_apply_falls_back_to_next_type(fell_back, sandbox):
    result, rejected, _ = fell_back

    (instance,) = tagged(sandbox, "instance", ENVIRONMENTS["gpu"])
    assert instance["InstanceType"] == "g6.xlarge"
    assert instance["Placement"]["AvailabilityZone"] == "us-east-1a"
    assert result.outputs["instance_id"] == instance["InstanceId"]
    assert rejected == [("RunInstances", "g5.xlarge")]


def test_fallback_keeps_one_volume_in_zone(fell_back, sandbox):
    result, _, _ = fell_back

    (volume,) = tagged(sandbox, "volume", ENVIRONMENTS["gpu"])
    assert volume["VolumeId"] == result.outputs["volume_id"]
    assert volume["AvailabilityZone"] == "us-east-1a"
    assert [attachment["InstanceId"] for attachment in volume["Attachments"]] == [
        result.outputs["instance_id"]]


def test_fallback_logs_each_attempt(fell_back):
    _, _, lines = fell_back

    assert lines == [
        "gpu: AWS has no capacity for g5.xlarge in us-east-1a",
        "gpu: trying g6.xlarge in us-east-1a",
        "gpu: applied on g6.xlarge after g5.xlarge had no capacity",
    ]


def test_plan_keeps_fallback_type(fell_back, behind_proxy):
    workspace, proxy, _ = behind_proxy
    proxy.no_capacity = set()
    spec = workspace.project.environment("gpu")

    (plan,) = plan_environments(workspace, [spec], workspace.plans_dir)

    assert not plan.has_changes, plan.changes


def test_no_capacity_anywhere_names_what_was_tried(behind_proxy, sandbox):
    workspace, proxy, _ = behind_proxy
    proxy.no_capacity = {"g5.xlarge", "g6.xlarge"}

    with pytest.raises(CapacityError) as raised:
        plan_and_apply(workspace, "scarce")

    message = str(raised.value)
    assert message.startswith("scarce: no instance type could start in us-east-1a, where the "
                              "data volume stays")
    assert "tried g5.xlarge: no capacity; g6.xlarge: no capacity" in message
    assert tagged(sandbox, "instance", ENVIRONMENTS["scarce"]) == []
    volumes = tagged(sandbox, "volume", ENVIRONMENTS["scarce"])
    assert [volume["AvailabilityZone"] for volume in volumes] == ["us-east-1a"]


def test_apply_over_quota_creates_nothing(behind_proxy, sandbox):
    workspace, proxy, _ = behind_proxy
    proxy.no_capacity = set()
    ec2 = ec2_of(sandbox)
    fillers = ec2.run_instances(ImageId="ami-0b59d5556c9fbaa39", InstanceType="g5.48xlarge",
                                MinCount=2, MaxCount=2)["Instances"]
    try:
        with pytest.raises(QuotaExceeded) as raised:
            plan_and_apply(workspace, "over-quota")
    finally:
        ec2.terminate_instances(InstanceIds=[filler["InstanceId"] for filler in fillers])

    assert "over-quota (g5.xlarge) needs 4 vCPUs" in str(raised.value)
    assert "(L-DB2E81BA)" in str(raised.value)
    assert tagged(sandbox, "volume", ENVIRONMENTS["over-quota"]) == []

