"""envctl sandbox up, status and down through the Click command group."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from click.testing import CliRunner

from envctl.cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_up_prints_endpoints_as_json(sandbox_root):
    result = run("--project", str(sandbox_root), "--output", "json", "sandbox", "up")

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert urlsplit(data["aws_endpoint"]).hostname == "127.0.0.1"
    assert urlsplit(data["vault_address"]).hostname == "127.0.0.1"
    assert data["environment"]["AWS_ENDPOINT_URL"] == data["aws_endpoint"]
    assert set(data["pids"]) == {"aws", "vault"}
    assert result.stderr == ""


def test_status_text_then_down(sandbox_root):
    run("--project", str(sandbox_root), "sandbox", "up")

    running = run("--project", str(sandbox_root), "sandbox", "status")
    stopped = run("--project", str(sandbox_root), "sandbox", "down")
    after = run("--project", str(sandbox_root), "sandbox", "status")

    assert running.exit_code == 0
    assert running.stdout.startswith("aws: running http://127.0.0.1:")
    assert "vault: running http://127.0.0.1:" in running.stdout
    assert stopped.stdout == "sandbox stopped\n"
    assert after.stdout == "aws: stopped\nvault: stopped\n"


def test_down_without_sandbox_says_so(sandbox_root):
    result = run("--project", str(sandbox_root), "sandbox", "down")

    assert result.exit_code == 0
    assert result.stdout == "no sandbox was running\n"


def test_up_text_names_logs_and_stop_command(sandbox_root):
    result = run("--project", str(sandbox_root), "sandbox", "up")

    assert result.exit_code == 0, result.stderr
    assert f"logs:  {sandbox_root.resolve() / '.envctl' / 'sandbox'}" in result.stdout
    assert "stop:  envctl sandbox down" in result.stdout
    assert "export ENVCTL_SANDBOX=1" in result.stdout


def test_project_root_found_above_folder(sandbox_root):
    (sandbox_root / "envctl.yaml").write_text("region: us-east-1\n")
    nested = sandbox_root / "environments"
    nested.mkdir()

    result = run("--project", str(nested), "sandbox", "up")

    assert result.exit_code == 0, result.stderr
    assert (sandbox_root / ".envctl" / "sandbox.json").exists()
    assert not (nested / ".envctl").exists()


def test_bad_record_prints_one_error_line(sandbox_root):
    (sandbox_root / ".envctl").mkdir()
    (sandbox_root / ".envctl" / "sandbox.json").write_text("[]")

    result = run("--project", str(sandbox_root), "sandbox", "status")

    (sandbox_root / ".envctl" / "sandbox.json").unlink()
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: invalid sandbox record ")
    assert len(result.stderr.splitlines()) == 1
