"""The last activity travels from the box's agent to `envctl ls` and `envctl status`.

The agent runs here against moto, which serves the EC2 API and the instance metadata paths.
Then ls and status read the tag.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from lifecycle_support import launch

from envctl.cli.main import cli
from envctl.definitions.loader import load_project
from envctl.instance.autostop import agent
from envctl.instance.autostop.config import DEFAULT_CONFIG, activity_report
from envctl.planning.run import apply_plans, plan_environments
from envctl.sandbox import Sandbox
from envctl.workspace import open_workspace

# The training job's last busy minute, this long before ls runs.
MINUTES_AGO = 7


def agent_config(tmp_path: Path, sandbox: Sandbox, instance_id: str) -> dict:
    """The default agent configuration, with only the heartbeat signal, under tmp_path."""
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["state_file"] = str(tmp_path / "state.json")
    config["signals"] = {"heartbeat": {"paths": [str(tmp_path / "heartbeat")],
                                       "within_minutes": 1}}
    config["activity"] = activity_report("us-east-1", {"ec2": sandbox.aws_endpoint})
    # moto serves the metadata paths too, with stand-in credentials for the box's role.
    config["activity"]["metadata_url"] = sandbox.aws_endpoint
    config["activity"]["instance_id_path"] = str(tmp_path / "instance-id")
    (tmp_path / "instance-id").write_text(instance_id)
    return config


def test_ls_status_show_reported_activity(project: Path, fresh_cloud: Sandbox,
                                                             tmp_path: Path) -> None:
    spec = load_project(project).environment("whisper")
    launched = launch(fresh_cloud, spec)
    config = agent_config(tmp_path, fresh_cloud, launched.instance_id)
    busy_until = time.time() - MINUTES_AGO * 60
    (tmp_path / "heartbeat").touch()

    code = agent.run_once(config, lambda: (busy_until, busy_until), agent.run_command,
                          dry_run=True)

    assert code == 0
    runner = CliRunner()
    listed = runner.invoke(cli, ["--project", str(project), "ls", "--sandbox"])
    assert listed.exit_code == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("whisper "))
    assert f"{MINUTES_AGO}m ago" in row
    status = runner.invoke(cli, ["--project", str(project), "status", "whisper", "--sandbox"])
    assert status.exit_code == 0, status.stderr
    assert f"{MINUTES_AGO}m ago" in status.stdout


@pytest.mark.e2e
def test_reporting_toggle_keeps_box(project: Path, fresh_cloud: Sandbox) -> None:
    # Real Terraform and hashicorp/aws 3.39.0 on moto: about a minute.
    def plan_and_apply(folder: str) -> tuple:
        workspace = open_workspace(load_project(project), sandbox=True, running=fresh_cloud)
        spec = workspace.project.environment("python-cpu")
        plans = plan_environments(workspace, [spec], project / folder)
        return dict(plans[0].changes), apply_plans(workspace, plans)[0].outputs["instance_id"]

    _, first = plan_and_apply("plans-on")
    settings = project / "envctl.yaml"
    settings.write_text(settings.read_text() + "autostop:\n  report_activity: false\n")

    changes, second = plan_and_apply("plans-off")

    assert changes["aws_instance.instance"] == "update"
    assert changes["aws_iam_role.box_role"] == "delete"
    assert changes["aws_iam_instance_profile.box_profile"] == "delete"
    assert second == first
