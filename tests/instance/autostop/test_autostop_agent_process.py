"""agent.py as the systemd timer runs it: a separate Python process, once per simulated minute.

The process reads a real configuration file and a fixed clock (ENVCTL_AUTOSTOP_FAKE_NOW). Its
PATH holds only stand-in probe commands that print recorded output, and it powers off through a
script that writes a marker file instead of stopping this machine. The agent runs as
written and as the user data carries it, minified.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from autostop_support import AGENT_PATH, DATA, IDLE_LOAD, T0, agent_config, data, minute

from envctl.instance.payload import minify_python

IDLE = 30


def python38() -> str | None:
    """A working Python 3.8 from PATH, the oldest version the agent supports, or None."""
    found = shutil.which("python3.8")
    if found is None:
        return None
    check = subprocess.run([found, "-c", "import sys; print(sys.version_info[:2])"],
                           capture_output=True, text=True)
    return found if check.stdout.strip() == "(3, 8)" else None


INTERPRETERS = [
    pytest.param(sys.executable, id="current-python"),
    pytest.param("python3.8", id="python3.8", marks=pytest.mark.skipif(
        python38() is None, reason="no working python3.8 on PATH")),
]
AGENTS = [pytest.param(False, id="source"), pytest.param(True, id="minified")]
CAT = shutil.which("cat")
TOUCH = shutil.which("touch")


class Box:
    """Files for one agent process: configuration, recorded commands, /proc, state and log."""

    def __init__(self, root: Path, python: str, minified: bool = False) -> None:
        self.root = root
        self.python = python38() if python == "python3.8" else python
        self.agent = AGENT_PATH
        if minified:
            self.agent = root / "agent.py"
            self.agent.write_bytes(minify_python(AGENT_PATH.read_bytes()))
        self.commands = root / "recorded"
        self.commands.mkdir()
        self.marker = root / "powered-off"
        self.hook_file = root / "checkpoint-synced"
        self.state_file = root / "run/state.json"
        self.config_file = root / "autostop.json"

        self._write_proc(root / "proc")
        poweroff = self._write_poweroff(root / "poweroff.sh")
        self._write_config(root / "proc", poweroff)

        self.record("who", data("who-u-idle.txt"))
        self.record("ss", data("ss-tanpi-stale.txt"))
        self.record("nvidia-smi", data("nvidia-smi-4gpu-idle.csv"))
        self.record("nproc", "4\n")

    def _write_proc(self, proc: Path) -> None:
        shutil.copytree(DATA / "proc", proc)
        (proc / "sys/kernel/random").mkdir(parents=True)
        (proc / "sys/kernel/random/boot_id").write_text("5f0c3d5e-boot-one\n")
        (proc / "loadavg").write_text(IDLE_LOAD)

    def _write_poweroff(self, path: Path) -> Path:
        """A poweroff command that records its arguments and whether the hook ran before it."""
        path.write_text(
            "#!/bin/sh\n"
            f"if [ -e {self.hook_file} ]; then hook=ran; else hook=missing; fi\n"
            f'echo "poweroff $* (pre-stop hook $hook)" > {self.marker}\n')
        path.chmod(0o755)
        return path

    def _write_config(self, proc: Path, poweroff: Path) -> None:
        config = agent_config(self.root, proc, IDLE)
        config["poweroff_commands"] = [[str(poweroff), "--now"]]
        config["pre_stop"] = {"command": f"echo syncing checkpoints; {TOUCH} {self.hook_file}",
                              "timeout_seconds": 60, "user": None}
        self.config_file.write_text(json.dumps(config, indent=2))

    def record(self, command: str, output: str, returncode: int = 0) -> None:
        """Install COMMAND on the agent's PATH: it prints OUTPUT and exits with RETURNCODE."""
        recorded = self.commands / f"{command}.out"
        recorded.write_text(output)
        script = self.commands / command
        script.write_text(f"#!/bin/sh\n{CAT} {recorded}\nexit {returncode}\n")
        script.chmod(0o755)

    def run(self, at_minute: float, *arguments: str) -> subprocess.CompletedProcess[str]:
        assert self.python is not None
        environment = dict(os.environ, PATH=str(self.commands),
                           ENVCTL_AUTOSTOP_FAKE_NOW=repr(minute(at_minute)))
        return subprocess.run(
            [self.python, str(self.agent), "--config", str(self.config_file), *arguments],
            capture_output=True, text=True, env=environment, timeout=120)


@pytest.mark.parametrize("minified", AGENTS)
@pytest.mark.parametrize("python", INTERPRETERS)
def test_agent_process_stops_idle_box_end_to_end(
    python: str, minified: bool, tmp_path: Path
) -> None:
    box = Box(tmp_path, python, minified)

    first = box.run(0)
    assert first.returncode == 0, first.stderr
    assert "active, idle 0s of 30m: start: no earlier check" in first.stdout

    box.record("nvidia-smi", data("nvidia-smi-4gpu-busy.csv"))
    busy = box.run(10)
    assert busy.returncode == 0, busy.stderr
    assert "gpu: GPU 0 at 100%" in busy.stdout

    box.record("nvidia-smi", data("nvidia-smi-4gpu-idle.csv"))
    for at_minute in range(11, 10 + IDLE):
        quiet = box.run(at_minute)
        assert quiet.returncode == 0, quiet.stderr
    assert f"idle {IDLE - 1}m of 30m: no activity" in quiet.stdout
    assert not box.marker.exists()

    stop = box.run(10 + IDLE)

    assert stop.returncode == 0, stop.stderr
    assert box.marker.read_text() == "poweroff --now (pre-stop hook ran)\n"
    assert "stopping, idle 30m of 30m" in stop.stdout
    assert "pre-stop hook: syncing checkpoints" in stop.stdout
    assert f"poweroff requested with {tmp_path}/poweroff.sh --now" in stop.stdout
    state = json.loads(box.state_file.read_text())
    assert state["last_active_wall"] == minute(10)
    assert "test hook: the clock is fixed at" in stop.stdout


def test_dry_run_never_stops(tmp_path: Path) -> None:
    box = Box(tmp_path, sys.executable)
    for at_minute in range(0, IDLE + 1):
        box.run(at_minute, "--dry-run")

    result = box.run(IDLE + 1, "--dry-run")

    assert result.returncode == 0, result.stderr
    assert "stopping, idle 31m of 30m" in result.stdout
    assert not box.marker.exists()
    assert not box.hook_file.exists()


def test_invalid_configuration_exits_2(tmp_path: Path) -> None:
    box = Box(tmp_path, sys.executable)
    box.config_file.write_text('{"idle_minutes": 60}')

    result = box.run(0)

    assert result.returncode == 2
    assert result.stdout.endswith(
        f"ERROR invalid configuration {box.config_file}: state_file or signals is missing\n")


def test_fake_clock_starts_at_t0() -> None:
    assert minute(0) == T0
