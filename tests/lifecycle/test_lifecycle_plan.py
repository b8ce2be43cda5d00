"""Stopped is a normal state: on an applied stack, out-of-band stops plan no change, and
out-of-band type changes show up in status and in the next plan.

Real Terraform, hashicorp/aws 3.39.0 and moto. One environment is applied once for the module
(about 30 s); each test puts the box in the state it needs first.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from lifecycle_support import attach_sandbox, copy_examples, describe, ec2_client

from envctl.cli.main import cli
from envctl.definitions.loader import load_project
from envctl.lifecycle import start, stop
from envctl.planning.run import apply_plans, plan_environments, retained_volume_id
from envctl.workspace import open_workspace

pytestmark = pytest.mark.e2e

NAME = "python-cpu"


@pytest.fixture(scope="module")
def applied(tmp_path_factory, sandbox):
    """python-cpu planned and applied on a fresh cloud; returns its workspace and instance id."""
    from envctl.sandbox import reset_cloud

    reset_cloud(sandbox)
    root = copy_examples(tmp_path_factory.mktemp("lifecycle") / "project")
    attach_sandbox(root, sandbox)
    workspace = open_workspace(load_project(root), sandbox=True, running=sandbox)
    spec = workspace.project.environment(NAME)
    results = apply_plans(workspace, plan_environments(workspace, [spec], root / "plans"))
    return workspace, results[0].outputs["instance_id"]


def plan_again(workspace):
    workspace.project = load_project(workspace.project.root)
    spec = workspace.project.environment(NAME)
    return plan_environments(workspace, [spec], workspace.plans_dir)[0]


def set_type_out_of_band(sandbox, instance_id, instance_type):
    ec2 = ec2_client(sandbox)
    ec2.modify_instance_attribute(InstanceId=instance_id, InstanceType={"Value": instance_type})


def test_out_of_band_stop_plans_no_change(applied, sandbox, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    workspace, instance_id = applied
    start(workspace, NAME)
    ec2_client(sandbox).stop_instances(InstanceIds=[instance_id])
    base = ["--project", str(workspace.project.root)]

    planned = CliRunner().invoke(cli, [*base, "plan", NAME, "--sandbox", "--detailed-exitcode"])
    plan = plan_again(workspace)
    apply_plans(workspace, [plan])

    assert planned.exit_code == 0, planned.stderr
    assert f"{NAME}: no changes" in planned.stdout
    assert "Everything is up to date." in planned.stderr
    # The stopped box's public_ip output changes, but that alone is nothing to apply.
    assert plan.changes == ()
    assert not plan.has_changes
    assert describe(sandbox, instance_id)["State"]["Name"] == "stopped"


def test_envctl_stop_plans_no_change(applied, sandbox, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    workspace, instance_id = applied
    start(workspace, NAME)
    stop(workspace, NAME)

    plan = plan_again(workspace)

    assert plan.changes == ()
    assert not plan.has_changes
    assert describe(sandbox, instance_id)["State"]["Name"] == "stopped"


def test_out_of_band_type_shows_in_status_and_plan(applied, sandbox, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    workspace, instance_id = applied
    stop(workspace, NAME)
    set_type_out_of_band(sandbox, instance_id, "t3.xlarge")
    base = ["--project", str(workspace.project.root)]

    try:
        status = CliRunner().invoke(cli, [*base, "status", NAME, "--sandbox"])
        plan = plan_again(workspace)
    finally:
        set_type_out_of_band(sandbox, instance_id, "t3.large")

    assert status.exit_code == 0, status.stderr
    assert "t3.xlarge, changed outside envctl: the file says t3.large" in status.stdout
    assert plan.changes == (("aws_instance.instance", "update"),)
    change = next(c for c in json.loads(plan.json_file.read_text())["resource_changes"]
                  if c["address"] == "aws_instance.instance")
    assert change["change"]["before"]["instance_type"] == "t3.xlarge"
    assert change["change"]["after"]["instance_type"] == "t3.large"


def test_start_on_another_type_plans_no_change(applied, sandbox, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    workspace, instance_id = applied
    spec = workspace.project.environment(NAME)
    stop(workspace, NAME)
    volume_before = retained_volume_id(workspace, spec)
    base = ["--project", str(workspace.project.root)]

    started = CliRunner().invoke(cli, [*base, "start", NAME, "--type", "t3.xlarge", "--sandbox"])
    plan = plan_again(workspace)

    assert started.exit_code == 0, started.stderr
    instance = describe(sandbox, instance_id)
    assert instance["State"]["Name"] == "running"
    assert instance["InstanceType"] == "t3.xlarge"
    assert workspace.project.environment(NAME).instance_type == "t3.xlarge"
    assert plan.changes == ()
    assert retained_volume_id(workspace, spec) == volume_before
