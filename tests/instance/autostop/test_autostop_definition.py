"""The autostop section of an environment file: which signals count, and the pre-stop hook.

The file is loaded the way every command loads it, and the agent configuration and systemd
unit come from the user data payload that the box receives.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2e_support import copy_examples

from envctl.cli.main import cli
from envctl.definitions.loader import load_project
from envctl.instance.payload import payload_files

AUTOSTOP = """
autostop:
  idle_minutes: 45
  signals: [gpu, lease, heartbeat]
  pre_stop:
    command: /data/workspace/save-checkpoint.sh
    timeout_seconds: 900
    user: alice
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_examples(tmp_path / "project")


def write_autostop(project: Path, section: str) -> Path:
    source = project / "environments" / "python-cpu.yaml"
    text = source.read_text()
    source.write_text(text[:text.index("\nsetup:")] + section)
    return source


def payload(project: Path) -> dict[str, bytes]:
    spec = load_project(project).environment("python-cpu")
    return {file.name: file.content for file in payload_files(spec, None, None)}


def test_signals_and_hook_reach_the_agent(project: Path) -> None:
    write_autostop(project, AUTOSTOP)

    files = payload(project)

    config = json.loads(files["autostop/autostop.json"])
    assert config["idle_minutes"] == 45
    assert list(config["signals"]) == ["gpu", "lease", "heartbeat"]
    assert config["pre_stop"] == {"command": "/data/workspace/save-checkpoint.sh",
                                  "timeout_seconds": 900, "user": "alice"}
    service = files["units/envctl-autostop.service"].decode()
    assert "TimeoutStartSec=1290\n" in service


def test_template_autostop_keeps_every_signal(project: Path) -> None:
    files = payload(project)

    config = json.loads(files["autostop/autostop.json"])
    assert list(config["signals"]) == ["ssh", "ide", "ports", "gpu", "cpu", "lease",
                                       "heartbeat"]
    assert config["pre_stop"]["command"] is None
    assert "TimeoutStartSec=690\n" in files["units/envctl-autostop.service"].decode()


BAD_SECTIONS = [
    ("unknown signal", "autostop:\n  signals: [gpu, jupyter]\n",
     ["python-cpu.yaml:", "autostop.signals.1", "'jupyter'"]),
    ("repeated signal", "autostop:\n  signals: [gpu, gpu]\n",
     ["autostop.signals", "lists gpu more than once"]),
    ("no signal", "autostop:\n  signals: []\n", ["autostop.signals", "at least 1"]),
    ("hook without command", "autostop:\n  pre_stop:\n    timeout_seconds: 60\n",
     ["autostop.pre_stop.command", "missing"]),
    ("hook timeout too long", "autostop:\n  pre_stop:\n    command: sync\n"
     "    timeout_seconds: 7200\n", ["autostop.pre_stop.timeout_seconds", "3600"]),
    ("hook user not a Linux name", "autostop:\n  pre_stop:\n    command: sync\n"
     "    user: Alice Smith\n", ["autostop.pre_stop.user", "not a valid Linux user name"]),
]


@pytest.mark.parametrize(("section", "expected"), [case[1:] for case in BAD_SECTIONS],
                         ids=[case[0] for case in BAD_SECTIONS])
def test_bad_autostop_section_is_one_line(project: Path, section: str,
                                          expected: list[str]) -> None:
    write_autostop(project, "\n" + section)

    result = CliRunner().invoke(cli, ["--project", str(project), "validate"])

    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if "python-cpu.yaml" in line]
    assert len(lines) == 1, result.stderr
    for piece in expected:
        assert piece in lines[0]
