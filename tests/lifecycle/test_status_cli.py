"""envctl status through the CLI: state, stop reason, type drift, and --watch."""

from __future__ import annotations

import json

from click.testing import CliRunner
from lifecycle_support import CapacityProxy, aim_project_at, ec2_client, launch

from envctl.cli.main import cli
from envctl.definitions.loader import load_project
from envctl.inventory import PROBE_USER_AGENT


def run_status(project, *args, env=None):
    return CliRunner().invoke(cli, ["--project", str(project), *args], env=env)


def test_status_running(project, fresh_cloud):
    spec = load_project(project).environment("whisper")
    launched = launch(fresh_cloud, spec)

    result = run_status(project, "status", "whisper", "--sandbox")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"whisper ({spec.id}, us-east-1)")
    assert f"running ({launched.instance_id})" in result.stdout
    assert "/hour on demand" in result.stdout
    assert "changed outside envctl" not in result.stdout


def test_status_shows_stop_reason(project, fresh_cloud):
    launch(fresh_cloud, load_project(project).environment("whisper"), stopped=True)

    result = run_status(project, "status", "whisper", "--sandbox")

    assert "stopped through the EC2 API" in result.stdout
    assert "$0/hour while stopped" in result.stdout
    assert "GiB of EBS volumes are still billed" in result.stdout


def test_status_shows_out_of_band_type(project, fresh_cloud):
    spec = load_project(project).environment("python-cpu")
    launched = launch(fresh_cloud, spec, stopped=True)
    ec2_client(fresh_cloud).modify_instance_attribute(
        InstanceId=launched.instance_id, InstanceType={"Value": "t3.xlarge"})

    result = run_status(project, "status", "python-cpu", "--sandbox")
    as_json = run_status(project, "--output", "json", "status", "python-cpu", "--sandbox")

    assert "t3.xlarge, changed outside envctl: the file says t3.large" in result.stdout
    data = json.loads(as_json.stdout)
    assert data["instance_type"] == "t3.xlarge"
    assert data["defined_type"] == "t3.large"
    assert data["type_drift"] is True


def test_status_absent(project, fresh_cloud):
    result = run_status(project, "status", "go-dev", "--sandbox")

    assert result.exit_code == 0, result.stderr
    assert "absent: no instance; create it with `envctl apply go-dev`" in result.stdout


def test_status_unknown_environment(project, fresh_cloud):
    result = run_status(project, "status", "nope", "--sandbox")

    assert result.exit_code == 1
    assert "nope" in result.stderr
    assert result.stdout == ""


def test_status_watch_polls_count_times(project, fresh_cloud):
    launch(fresh_cloud, load_project(project).environment("whisper"))

    result = run_status(project, "status", "whisper", "--watch", "--interval", "1",
                        "--count", "2", "--sandbox")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all(" whisper running " in line for line in lines)


def test_status_watch_json_lines(project, fresh_cloud):
    launch(fresh_cloud, load_project(project).environment("whisper"), stopped=True)

    result = run_status(project, "--output", "json", "status", "whisper", "--watch",
                        "--interval", "1", "--count", "2", "--sandbox")

    states = [json.loads(line)["state"] for line in result.stdout.splitlines()]
    assert states == ["stopped", "stopped"]


def test_status_watch_polls_marked_as_probes(project, fresh_cloud):
    launch(fresh_cloud, load_project(project).environment("whisper"))

    with CapacityProxy(fresh_cloud) as proxy:
        env = aim_project_at(project, proxy.url)
        result = run_status(project, "status", "whisper", "--watch", "--interval", "1",
                            "--count", "3", env=env)

    assert result.exit_code == 0, result.stderr
    assert proxy.actions() == ["DescribeInstances"] * 3
    assert all(PROBE_USER_AGENT in agent for _, agent in proxy.requests), proxy.requests
