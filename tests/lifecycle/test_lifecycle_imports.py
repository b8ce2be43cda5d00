"""Lifecycle commands call AWS only: they never load the CDK layer; --help loads no boto3."""

from __future__ import annotations

import subprocess
import sys

import pytest
from lifecycle_support import launch

from envctl.definitions.loader import load_project

HEAVY = ("cdktn", "cdktn_provider_aws", "jsii", "envctl.cdk", "boto3", "hvac")
CDK_LAYER = {"cdktn", "cdktn_provider_aws", "jsii", "envctl.cdk"}
COMMANDS = ("ls", "status", "stop", "start", "keepalive")

PROBE = """
import sys
from click.testing import CliRunner
from envctl.cli.main import cli
result = CliRunner().invoke(cli, sys.argv[1:])
print("exit=" + str(result.exit_code))
print("stderr=" + result.stderr.replace(chr(10), " "))
print("loaded=" + ",".join(sorted(name for name in {heavy!r} if name in sys.modules)))
"""


def run_probe(*args: str) -> dict[str, str]:
    completed = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
                               capture_output=True, text=True, check=True)
    return dict(line.split("=", 1) for line in completed.stdout.splitlines() if "=" in line)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_loads_nothing_heavy(project, command):
    probe = run_probe("--project", str(project), command, "--help")

    assert probe["exit"] == "0"
    assert probe["loaded"] == ""


@pytest.mark.parametrize("args", [
    ["ls", "--sandbox"],
    ["status", "whisper", "--sandbox"],
    ["stop", "whisper", "--sandbox", "--yes"],
    ["start", "whisper", "--sandbox"],
    ["start", "python-cpu", "--type", "t3.xlarge", "--sandbox"],
    ["keepalive", "whisper", "1h", "--sandbox"],
])
def test_commands_skip_cdk_layer(project, fresh_cloud, args):
    specs = load_project(project)
    launch(fresh_cloud, specs.environment("whisper"))
    launch(fresh_cloud, specs.environment("python-cpu"), stopped=True)

    probe = run_probe("--project", str(project), *args)

    assert probe["exit"] == "0", probe["stderr"]
    assert CDK_LAYER.isdisjoint(probe["loaded"].split(",")), probe["loaded"]
