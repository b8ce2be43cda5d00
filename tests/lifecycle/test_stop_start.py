"""envctl stop and start on moto: run states, waits, type changes and the environment file."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from lifecycle_support import describe, ec2_client, launch

from envctl.cli.main import cli
from envctl.definitions.loader import load_project
from envctl.errors import EnvctlError
from envctl.lifecycle import start, stop
from envctl.scaling import ScaleRejected


def invoke(project, *args):
    return CliRunner().invoke(cli, ["--project", str(project), *args])


def test_stop_keeps_volume_attached(project, fresh_cloud, workspace):
    spec = workspace.project.environment("whisper")
    launched = launch(fresh_cloud, spec)

    result = stop(workspace, "whisper")

    instance = describe(fresh_cloud, launched.instance_id)
    assert instance["State"]["Name"] == "stopped"
    assert not result.already_stopped
    volume = ec2_client(fresh_cloud).describe_volumes(VolumeIds=[launched.volume_id])
    assert volume["Volumes"][0]["Attachments"][0]["InstanceId"] == launched.instance_id


def test_stop_twice_is_a_no_op(project, fresh_cloud, workspace):
    launch(fresh_cloud, workspace.project.environment("whisper"), stopped=True)

    result = stop(workspace, "whisper")

    assert result.already_stopped
    assert str(result) == "whisper: already stopped"


def test_stop_absent_names_apply(project, fresh_cloud, workspace):
    with pytest.raises(EnvctlError, match="create it with `envctl apply go-dev`"):
        stop(workspace, "go-dev")


def test_stop_cli_needs_yes_without_terminal(project, fresh_cloud):
    launched = launch(fresh_cloud, load_project(project).environment("whisper"))

    refused = invoke(project, "stop", "whisper", "--sandbox")
    stopped = invoke(project, "stop", "whisper", "--sandbox", "--yes")

    assert refused.exit_code == 1
    assert "pass --yes" in refused.stderr
    assert stopped.exit_code == 0, stopped.stderr
    assert f"whisper: stopped {launched.instance_id}" in stopped.stdout
    assert "envctl start whisper" in stopped.stdout
    assert describe(fresh_cloud, launched.instance_id)["State"]["Name"] == "stopped"


def test_start_stopped_box(project, fresh_cloud, workspace):
    spec = workspace.project.environment("whisper")
    launched = launch(fresh_cloud, spec, stopped=True)
    before = spec.source.read_text()

    result = start(workspace, "whisper")

    assert describe(fresh_cloud, launched.instance_id)["State"]["Name"] == "running"
    assert result.instance_type == spec.instance_type
    assert not result.file_updated
    assert spec.source.read_text() == before


def test_start_running_box_is_a_no_op(project, fresh_cloud, workspace):
    launch(fresh_cloud, workspace.project.environment("whisper"))

    result = start(workspace, "whisper")

    assert result.already_running
    assert "already running" in str(result)


def test_start_running_box_on_other_type_refused(project, fresh_cloud, workspace):
    launch(fresh_cloud, workspace.project.environment("python-cpu"))

    with pytest.raises(EnvctlError, match="stop it first"):
        start(workspace, "python-cpu", "t3.xlarge")


def test_start_on_type_keeps_volume(project, fresh_cloud, workspace):
    spec = workspace.project.environment("python-cpu")
    launched = launch(fresh_cloud, spec, stopped=True)

    result = start(workspace, "python-cpu", "t3.xlarge")

    instance = describe(fresh_cloud, launched.instance_id)
    assert instance["State"]["Name"] == "running"
    assert instance["InstanceType"] == "t3.xlarge"
    assert result.file_updated
    assert result.previous_type == "t3.large"
    volume = ec2_client(fresh_cloud).describe_volumes(VolumeIds=[launched.volume_id])
    assert volume["Volumes"][0]["Attachments"][0]["InstanceId"] == launched.instance_id


def test_start_on_type_writes_file(project, fresh_cloud, workspace):
    spec = workspace.project.environment("python-cpu")
    launch(fresh_cloud, spec, stopped=True)

    start(workspace, "python-cpu", "t3.xlarge")

    text = spec.source.read_text()
    assert load_project(project).environment("python-cpu").instance_type == "t3.xlarge"
    assert "# Python development without a GPU" in text
    assert "template: cpu-ubuntu" in text


def test_start_unknown_type_changes_nothing(project, fresh_cloud, workspace):
    spec = workspace.project.environment("python-cpu")
    launched = launch(fresh_cloud, spec, stopped=True)
    before = spec.source.read_text()

    with pytest.raises(ScaleRejected, match="did you mean 't3.xlarge'"):
        start(workspace, "python-cpu", "t3.xlarg")

    instance = describe(fresh_cloud, launched.instance_id)
    assert instance["State"]["Name"] == "stopped"
    assert instance["InstanceType"] == "t3.large"
    assert spec.source.read_text() == before


def test_start_absent_names_apply(project, fresh_cloud, workspace):
    with pytest.raises(EnvctlError, match="no instance to start"):
        start(workspace, "go-dev")


def test_start_cli_json(project, fresh_cloud):
    spec = load_project(project).environment("python-cpu")
    launched = launch(fresh_cloud, spec, stopped=True)

    result = invoke(project, "--output", "json", "start", "python-cpu", "--type", "t3.xlarge",
                    "--sandbox")

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["instance_id"] == launched.instance_id
    assert data["instance_type"] == "t3.xlarge"
    assert data["previous_type"] == "t3.large"
    assert data["file_updated"] is True
    assert data["no_capacity"] == []


def test_start_cli_text(project, fresh_cloud):
    launch(fresh_cloud, load_project(project).environment("python-cpu"), stopped=True)

    result = invoke(project, "start", "python-cpu", "--type", "t3.xlarge", "--sandbox")

    assert result.exit_code == 0, result.stderr
    assert "python-cpu: running" in result.stdout
    assert "t3.xlarge is now in the environment file (was t3.large)" in result.stdout


def test_stop_then_start_round_trip_cli(project, fresh_cloud):
    launched = launch(fresh_cloud, load_project(project).environment("whisper"))

    stopped = invoke(project, "stop", "whisper", "--sandbox", "--yes")
    listed = invoke(project, "ls", "whisper", "--sandbox")
    started = invoke(project, "start", "whisper", "--sandbox")

    assert stopped.exit_code == 0, stopped.stderr
    assert listed.stdout.splitlines()[1].split()[1] == "stopped"
    assert started.exit_code == 0, started.stderr
    assert describe(fresh_cloud, launched.instance_id)["State"]["Name"] == "running"
