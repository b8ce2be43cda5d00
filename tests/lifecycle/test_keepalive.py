"""envctl keepalive: the lease file the autostop agent reads, in the sandbox and over ssh."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from lifecycle_support import RecordingSshServer, aim_project_at, launch, sshd_missing

from envctl.cli.main import cli
from envctl.definitions.loader import load_project
from envctl.errors import EnvctlError
from envctl.instance.autostop import agent
from envctl.instance.autostop.config import autostop_config
from envctl.keepalive import (
    LEASE_PATH,
    PROBE_MARKER,
    keepalive,
    lease_content,
    lease_script,
    lease_text,
    parse_duration,
    sandbox_lease_file,
)

NOW = datetime.datetime(2026, 12, 4, 14, 0, tzinfo=datetime.UTC)
AGENT = agent.__file__


@pytest.mark.parametrize(("text", "expected"), [
    ("3h", datetime.timedelta(hours=3)),
    ("90m", datetime.timedelta(minutes=90)),
    ("1h30m", datetime.timedelta(hours=1, minutes=30)),
    ("2d", datetime.timedelta(days=2)),
    ("7d", datetime.timedelta(days=7)),
    ("off", datetime.timedelta(0)),
    ("0", datetime.timedelta(0)),
])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "3", "3x", "h", "-1h", "1.5h", "8d"])
def test_parse_duration_rejects(text):
    with pytest.raises(EnvctlError):
        parse_duration(text)


def test_lease_content_is_what_agent_reads():
    expires = NOW + datetime.timedelta(hours=3)

    content = lease_content(expires)

    assert content == "1796403600\n"
    assert agent.parse_lease(content) == expires.timestamp()
    assert lease_text(expires) == "2026-12-04T17:00:00Z"


def test_lease_path_matches_deployed_config(project):
    spec = load_project(project).environment("whisper")

    config = autostop_config(spec)

    assert config["signals"]["lease"]["path"] == LEASE_PATH
    assert config["envctl_probes"]["env"] == PROBE_MARKER


def test_sandbox_lease_file(project, fresh_cloud, workspace):
    launched = launch(fresh_cloud, workspace.project.environment("whisper"))

    lease = keepalive(workspace, "whisper", datetime.timedelta(hours=3), now=NOW)

    path = sandbox_lease_file(project, launched.instance_id)
    assert str(path).endswith(f"{launched.instance_id}/var/lib/envctl/keepalive")
    assert path.read_text() == "1796403600\n"
    assert lease.location == str(path)
    assert lease.expires == NOW + datetime.timedelta(hours=3)


def test_lease_off_removes_file(project, fresh_cloud, workspace):
    launched = launch(fresh_cloud, workspace.project.environment("whisper"))
    keepalive(workspace, "whisper", datetime.timedelta(hours=1))

    lease = keepalive(workspace, "whisper", datetime.timedelta(0))

    assert lease.expires is None
    assert not sandbox_lease_file(project, launched.instance_id).exists()


def test_lease_on_stopped_box_refused(project, fresh_cloud, workspace):
    launch(fresh_cloud, workspace.project.environment("whisper"), stopped=True)

    with pytest.raises(EnvctlError, match="start it with `envctl start whisper`"):
        keepalive(workspace, "whisper", datetime.timedelta(hours=1))


def run_agent(folder, lease_file, now):
    """Run agent.py once, as the timer does, with only the lease signal on; return its log.

    Runs that share folder share the agent's state file, as runs on one box do.
    """
    config = {
        "idle_minutes": 30,
        "state_file": str(folder / "state.json"),
        "log_file": None,
        "proc_root": str(folder / "proc"),
        "signals": {"lease": {"path": str(lease_file)}},
    }
    (folder / "proc").mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    environment = {**os.environ, "ENVCTL_AUTOSTOP_FAKE_NOW": str(now.timestamp()),
                   "ENVCTL_AUTOSTOP_RECORDED_DIR": str(folder)}
    completed = subprocess.run(
        [sys.executable, AGENT, "--config", str(folder / "config.json"), "--dry-run"],
        capture_output=True, text=True, env=environment, check=True)
    return completed.stdout + completed.stderr


def test_agent_honours_lease(tmp_path, project, fresh_cloud, workspace):
    launched = launch(fresh_cloud, workspace.project.environment("whisper"))
    keepalive(workspace, "whisper", datetime.timedelta(hours=3), now=NOW)
    lease_file = sandbox_lease_file(project, launched.instance_id)
    minute = datetime.timedelta(minutes=1)

    during = [run_agent(tmp_path / "during", lease_file, NOW + datetime.timedelta(hours=1) + n
                        * minute) for n in range(2)]
    after = [run_agent(tmp_path / "after", lease_file, NOW + datetime.timedelta(hours=4) + n
                       * minute) for n in range(2)]

    assert "active, idle 0s of 30m" in during[1]
    assert "2026-12-04T17:00:00Z" in during[1]
    assert "active" not in after[1]
    assert "idle 1m of 30m" in after[1]


def test_keepalive_cli(project, fresh_cloud):
    launched = launch(fresh_cloud, load_project(project).environment("whisper"))

    result = CliRunner().invoke(cli, ["--project", str(project), "--output", "json",
                                      "keepalive", "whisper", "2h", "--sandbox"])

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["location"] == str(sandbox_lease_file(project, launched.instance_id))
    expires = datetime.datetime.fromisoformat(data["expires"].replace("Z", "+00:00"))
    remaining = expires - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(hours=1, minutes=55) < remaining <= datetime.timedelta(hours=2)


def test_keepalive_cli_bad_duration(project, fresh_cloud):
    result = CliRunner().invoke(cli, ["--project", str(project), "keepalive", "whisper", "3x",
                                      "--sandbox"])

    assert result.exit_code == 1
    assert "'3x' is not a duration" in result.stderr


def test_lease_script_writes_box_time(tmp_path):
    lease_file = tmp_path / "var" / "lib" / "envctl" / "keepalive"
    before = int(time.time())

    written = subprocess.run(["sh", "-c", lease_script(10800, str(lease_file))],
                             capture_output=True, text=True, check=True)

    after = int(time.time())
    expires = int(lease_file.read_text())
    assert before + 10800 <= expires <= after + 10800
    assert written.stdout == f"{expires}\n"
    assert sorted(path.name for path in lease_file.parent.iterdir()) == ["keepalive"]


def test_lease_script_zero_removes_file(tmp_path):
    lease_file = tmp_path / "keepalive"
    lease_file.write_text("1796403600\n")

    subprocess.run(["sh", "-c", lease_script(0, str(lease_file))], check=True)

    assert not lease_file.exists()


@pytest.mark.skipif(sshd_missing() is not None, reason=str(sshd_missing()))
def test_keepalive_over_ssh(tmp_path, project, fresh_cloud):
    launch(fresh_cloud, load_project(project).environment("whisper"))
    env = aim_project_at(project, fresh_cloud.aws_endpoint)

    with RecordingSshServer(tmp_path / "sshd") as server:
        options = [argument for option in server.client_options()
                   for argument in ("-o", option)]
        result = CliRunner().invoke(cli, ["--project", str(project), "keepalive", "whisper",
                                          "3h", "--ssh-host", "127.0.0.1", *options], env=env)

    assert result.exit_code == 0, result.stderr
    assert "127.0.0.1:/var/lib/envctl/keepalive" in result.stdout
    sessions = server.sessions()
    assert len(sessions) == 1
    assert sessions[0]["probe"] == "1"
    assert sessions[0]["command"] == lease_script(3 * 3600)
