"""Starting when AWS has no capacity for the instance's type.

A proxy on 127.0.0.1 stands between envctl and moto and answers StartInstances for the chosen
types with EC2's HTTP 500 InsufficientInstanceCapacity error; everything else reaches moto.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from lifecycle_support import CapacityProxy, aim_project_at, describe, ec2_client, launch

from envctl.cli.main import cli
from envctl.definitions.editing import set_field
from envctl.definitions.loader import load_project
from envctl.lifecycle import CapacityError, start
from envctl.workspace import open_workspace


@pytest.fixture
def proxy(fresh_cloud):
    with CapacityProxy(fresh_cloud, no_capacity={"t3.large"}) as running:
        yield running


@pytest.fixture
def workspace_behind(project, proxy):
    return open_workspace(load_project(project), sandbox=True, running=proxy.sandbox_behind())


def test_no_capacity_leaves_box_stopped(project, fresh_cloud, proxy, workspace_behind):
    spec = workspace_behind.project.environment("python-cpu")
    launched = launch(fresh_cloud, spec, stopped=True)
    before = spec.source.read_text()

    with pytest.raises(CapacityError) as raised:
        start(workspace_behind, "python-cpu")

    message = str(raised.value)
    assert "no capacity for t3.large in us-east-1a" in message
    assert "envctl start python-cpu --type " in message
    instance = describe(fresh_cloud, launched.instance_id)
    assert instance["State"]["Name"] == "stopped"
    assert instance["InstanceType"] == "t3.large"
    assert spec.source.read_text() == before


def test_capacity_error_is_not_retried(project, fresh_cloud, proxy, workspace_behind):
    launch(fresh_cloud, workspace_behind.project.environment("python-cpu"), stopped=True)

    with pytest.raises(CapacityError):
        start(workspace_behind, "python-cpu")

    assert proxy.actions().count("StartInstances") == 1


def test_suggested_type_has_same_shape(project, fresh_cloud, proxy, workspace_behind):
    from envctl.definitions.catalog import instance_types

    launch(fresh_cloud, workspace_behind.project.environment("whisper"), stopped=True)
    whisper = workspace_behind.project.environment("whisper")
    proxy.no_capacity = {whisper.instance_type}

    with pytest.raises(CapacityError) as raised:
        start(workspace_behind, "whisper")

    suggested = re.search(r"--type (\S+)`", str(raised.value))
    assert suggested is not None
    original = instance_types()[whisper.instance_type]
    other = instance_types()[suggested.group(1)]
    assert (other.gpu_name, other.gpu_count) == (original.gpu_name, original.gpu_count)


def test_start_on_suggested_type_cli(project, fresh_cloud, proxy):
    spec = load_project(project).environment("python-cpu")
    launched = launch(fresh_cloud, spec, stopped=True)
    env = aim_project_at(project, proxy.url)
    runner = CliRunner()

    refused = runner.invoke(cli, ["--project", str(project), "start", "python-cpu"], env=env)
    suggested = re.search(r"`envctl start python-cpu --type (\S+)`", refused.stderr)
    assert refused.exit_code == 1
    assert suggested is not None, refused.stderr
    other_type = suggested.group(1)
    started = runner.invoke(cli, ["--project", str(project), "start", "python-cpu", "--type",
                                  other_type], env=env)

    assert started.exit_code == 0, started.stderr
    instance = describe(fresh_cloud, launched.instance_id)
    assert instance["State"]["Name"] == "running"
    assert instance["InstanceType"] == other_type
    assert load_project(project).environment("python-cpu").instance_type == other_type
    volume = ec2_client(fresh_cloud).describe_volumes(VolumeIds=[launched.volume_id])
    assert volume["Volumes"][0]["Attachments"][0]["InstanceId"] == launched.instance_id


def test_requested_type_without_capacity_restores(project, fresh_cloud, proxy,
                                                  workspace_behind):
    spec = workspace_behind.project.environment("python-cpu")
    launched = launch(fresh_cloud, spec, stopped=True)
    proxy.no_capacity = {"t3.large", "t3.xlarge"}
    before = spec.source.read_text()

    with pytest.raises(CapacityError, match="no capacity for t3.xlarge"):
        start(workspace_behind, "python-cpu", "t3.xlarge")

    instance = describe(fresh_cloud, launched.instance_id)
    assert instance["State"]["Name"] == "stopped"
    assert instance["InstanceType"] == "t3.large"
    assert spec.source.read_text() == before


def test_requested_type_with_capacity(project, fresh_cloud, proxy, workspace_behind):
    spec = workspace_behind.project.environment("python-cpu")
    launched = launch(fresh_cloud, spec, stopped=True)

    result = start(workspace_behind, "python-cpu", "t3.xlarge")

    assert result.instance_type == "t3.xlarge"
    assert result.file_updated
    assert describe(fresh_cloud, launched.instance_id)["State"]["Name"] == "running"
    assert "ModifyInstanceAttribute" in proxy.actions()


def test_falls_back_to_next_listed_type(project, fresh_cloud, proxy):
    spec = load_project(project).environment("python-cpu")
    launched = launch(fresh_cloud, spec, stopped=True)
    workspace = open_workspace(load_project(project), sandbox=True,
                               running=proxy.sandbox_behind())
    set_field(spec.source, ("instance", "types"), ["t3.large", "t3a.large", "m5.large"])
    workspace.project = load_project(project)

    result = start(workspace, "python-cpu")

    assert result.no_capacity == ("t3.large",)
    assert result.instance_type == "t3a.large"
    assert result.file_updated
    instance = describe(fresh_cloud, launched.instance_id)
    assert instance["State"]["Name"] == "running"
    assert instance["InstanceType"] == "t3a.large"
    assert load_project(project).environment("python-cpu").instance_type == "t3a.large"
    assert "no capacity for t3.large" in str(result)


def test_no_listed_type_has_capacity(project, fresh_cloud, proxy):
    spec = load_project(project).environment("python-cpu")
    launched = launch(fresh_cloud, spec, stopped=True)
    set_field(spec.source, ("instance", "types"), ["t3.large", "t3a.large"])
    before = spec.source.read_text()
    workspace = open_workspace(load_project(project), sandbox=True,
                               running=proxy.sandbox_behind())
    proxy.no_capacity = {"t3.large", "t3a.large"}

    with pytest.raises(CapacityError, match="no capacity for t3.large, t3a.large") as raised:
        start(workspace, "python-cpu")

    assert "stays stopped on t3.large" in str(raised.value)
    assert proxy.actions().count("StartInstances") == 2
    instance = describe(fresh_cloud, launched.instance_id)
    assert instance["State"]["Name"] == "stopped"
    assert instance["InstanceType"] == "t3.large"
    assert spec.source.read_text() == before


def test_fallback_over_its_quota_is_skipped(project, fresh_cloud, proxy):
    spec = load_project(project).environment("python-cpu")
    launched = launch(fresh_cloud, spec, stopped=True)
    set_field(spec.source, ("instance", "types"), ["t3.large", "g5.12xlarge", "t3a.large"])
    # Another team's two g5.48xlarge fill the sandbox's 384-vCPU G and VT quota.
    image = ec2_client(fresh_cloud).describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2_client(fresh_cloud).run_instances(ImageId=image, MinCount=2, MaxCount=2,
                                          InstanceType="g5.48xlarge")
    workspace = open_workspace(load_project(project), sandbox=True,
                               running=proxy.sandbox_behind())

    result = start(workspace, "python-cpu")

    assert result.no_capacity == ("t3.large",)
    assert result.instance_type == "t3a.large"
    assert describe(fresh_cloud, launched.instance_id)["InstanceType"] == "t3a.large"
    assert proxy.actions().count("StartInstances") == 2
