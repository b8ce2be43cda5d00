"""envctl ssh and envctl port-forward on the sandbox, with a recording ssh on PATH."""

from __future__ import annotations

import pytest
from access_support import launch
from click.testing import CliRunner

from envctl.cli.main import cli
from envctl.cli.port_forward import parse_ports
from envctl.definitions.loader import load_project
from envctl.sshconfig import add_include, ssh_config_file, user_ssh_config

ALICE = "name: alice\nssh_public_key: ~/.ssh/id_ed25519.pub\n"


def run(project, *args):
    return CliRunner().invoke(cli, ["--project", str(project), *args])


@pytest.fixture
def running(cloud_project, fresh_cloud, recorders, settings_file):
    """sd-box running on the sandbox, alice's settings, and a recording ssh first on PATH."""
    settings_file(ALICE)
    recorders.install("ssh")
    launch(fresh_cloud, load_project(cloud_project).environment("sd-box"))
    return cloud_project


def recorded_ssh(recorders):
    calls = recorders.calls("ssh")
    assert len(calls) == 1, calls
    return calls[0]


def test_ssh_runs_command_on_host(running, recorders):
    result = run(running, "ssh", "sd-box", "--sandbox", "--", "nvidia-smi", "-L")

    assert result.exit_code == 0, result.stderr
    assert recorded_ssh(recorders) == ["-F", str(ssh_config_file()), "--", "envctl-sd-box",
                                       "nvidia-smi", "-L"]


def test_ssh_uses_user_config_once_included(running, recorders):
    add_include(user_ssh_config(), ssh_config_file())

    result = run(running, "ssh", "sd-box", "--sandbox")

    assert result.exit_code == 0, result.stderr
    assert recorded_ssh(recorders) == ["--", "envctl-sd-box"]


def test_ssh_exit_status_passed_on(running, recorders):
    recorders.install("ssh", exit_status=7)

    result = run(running, "ssh", "sd-box", "--sandbox", "--", "false")

    assert result.exit_code == 7


def test_ssh_leaves_user_config_alone(running, recorders):
    result = run(running, "ssh", "sd-box", "--sandbox")

    assert result.exit_code == 0, result.stderr
    assert not user_ssh_config().exists()
    assert ssh_config_file().exists()


def test_port_forward_arguments(running, recorders):
    result = run(running, "port-forward", "sd-box", "8888", "16006:6006", "--sandbox")

    assert result.exit_code == 0, result.stderr
    assert recorded_ssh(recorders) == [
        "-F", str(ssh_config_file()), "-N", "-o", "ExitOnForwardFailure=yes",
        "-L", "127.0.0.1:8888:127.0.0.1:8888", "-L", "127.0.0.1:16006:127.0.0.1:6006",
        "--", "envctl-sd-box"]
    assert "http://127.0.0.1:8888" in result.stderr
    assert "autostop does not count" not in result.stderr


def test_port_forward_warns_for_unwatched_port(running, recorders):
    result = run(running, "port-forward", "sd-box", "8188", "--sandbox")

    assert result.exit_code == 0, result.stderr
    assert "autostop does not count traffic on port 8188" in result.stderr


@pytest.mark.parametrize("text", ["jupyter", "0", "8888:70000", "88:88:88", ":8888"])
def test_port_forward_rejects_bad_ports(running, recorders, text):
    result = run(running, "port-forward", "sd-box", text, "--sandbox")

    assert result.exit_code == 2
    assert "PORTS" in result.stderr
    assert recorders.calls("ssh") == []


@pytest.mark.parametrize(("text", "ports"), [("8888", (8888, 8888)), ("80:8080", (80, 8080))])
def test_parse_ports(text, ports):
    assert parse_ports(text) == ports
