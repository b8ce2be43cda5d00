"""envctl ls through the CLI: the table, its notes and --output json."""

from __future__ import annotations

import json

from click.testing import CliRunner
from lifecycle_support import ec2_client, launch

from envctl.cli.main import cli
from envctl.definitions.loader import load_project
from envctl.inventory import gpu_label
from envctl.prices import on_demand_price


def run_ls(project, *args):
    return CliRunner().invoke(cli, ["--project", str(project), *args, "ls", "--sandbox"])


def rows_by_name(stdout):
    lines = stdout.splitlines()
    header = lines[0].split()
    rows = {}
    for line in lines[1:]:
        if not line.strip():
            break
        rows[line.split()[0]] = line
    return header, rows


def test_ls_lists_every_environment(project, fresh_cloud):
    project_specs = load_project(project)
    whisper = project_specs.environment("whisper")
    launch(fresh_cloud, whisper)
    launch(fresh_cloud, project_specs.environment("python-cpu"), stopped=True)

    result = run_ls(project)

    assert result.exit_code == 0, result.stderr
    header, rows = rows_by_name(result.stdout)
    assert header[:4] == ["NAME", "STATE", "TYPE", "GPU"]
    assert "AUTOSTOP" in result.stdout.splitlines()[0]
    assert set(rows) == {spec.name for spec in project_specs.environments}
    gpu = str(gpu_label(whisper.instance_type)).split()
    assert rows["whisper"].split()[1:5] == ["running", whisper.instance_type, *gpu]
    assert rows["python-cpu"].split()[1:4] == ["stopped", "t3.large", "-"]
    assert rows["go-dev"].split()[1] == "absent"


def test_ls_prices_and_autostop(project, fresh_cloud):
    specs = load_project(project)
    whisper = specs.environment("whisper")
    python_cpu = specs.environment("python-cpu")
    launch(fresh_cloud, whisper)
    launch(fresh_cloud, python_cpu, stopped=True)
    price = on_demand_price(whisper.instance_type, whisper.region)

    result = run_ls(project)

    _, rows = rows_by_name(result.stdout)
    assert f"{price:.3f}" in rows["whisper"].split()
    assert "0.000" in rows["python-cpu"].split()
    assert f"{python_cpu.autostop_minutes}m idle" in rows["python-cpu"]
    assert "1 stopped: $0/hour for the instances" in result.stdout
    assert f"{python_cpu.volume.size_gb + 100} GiB in total" in result.stdout
    assert f"1 billed: ${price:.3f}/hour in total" in result.stdout


def test_ls_marks_type_drift(project, fresh_cloud):
    launch(fresh_cloud, load_project(project).environment("whisper"), instance_type="g6.xlarge")

    result = run_ls(project)

    _, rows = rows_by_name(result.stdout)
    assert "g6.xlarge*" in rows["whisper"].split()
    assert "differs from the environment file" in result.stdout


def test_ls_json_output(project, fresh_cloud):
    spec = load_project(project).environment("whisper")
    launched = launch(fresh_cloud, spec)
    ec2_client(fresh_cloud).create_tags(
        Resources=[launched.instance_id],
        Tags=[{"Key": "envctl:last-activity", "Value": "2026-12-04T10:00:00Z"}])

    result = run_ls(project, "--output", "json")

    assert result.exit_code == 0, result.stderr
    entries = {entry["name"]: entry for entry in json.loads(result.stdout)}
    whisper = entries["whisper"]
    assert whisper["state"] == "running"
    assert whisper["instance_id"] == launched.instance_id
    assert whisper["gpu"] == gpu_label(spec.instance_type)
    assert whisper["hourly_cost"] == on_demand_price(spec.instance_type, spec.region)
    assert whisper["hourly_price"] == whisper["hourly_cost"]
    assert whisper["autostop_minutes"] == spec.autostop_minutes
    assert whisper["last_activity"] == "2026-12-04T10:00:00+00:00"
    assert isinstance(whisper["uptime_seconds"], int)
    assert entries["go-dev"]["state"] == "absent"
    assert entries["go-dev"]["hourly_cost"] == 0.0


def test_ls_named_environments_only(project, fresh_cloud):
    result = CliRunner().invoke(cli, ["--project", str(project), "ls", "whisper", "go-dev",
                                      "--sandbox"])

    _, rows = rows_by_name(result.stdout)
    assert set(rows) == {"whisper", "go-dev"}


def test_ls_without_sandbox_running(tmp_path, project):
    (project / ".envctl" / "sandbox.json").unlink()

    result = run_ls(project)

    assert result.exit_code == 1
    assert "envctl sandbox up" in result.stderr
    assert result.stdout == ""
