"""Helpers for the autostop tests: recorded command output and a simulated box on a fake clock.

The recorded files under data/ are real output, and data/README.md lists where each came from.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envctl.instance.autostop import agent
from envctl.instance.autostop.config import DEFAULT_CONFIG

DATA = Path(__file__).resolve().parent / "data"
AGENT_PATH = Path(agent.__file__)
# The fake clock starts here (2026-11-30T07:33:20Z); each simulated minute adds 60 s.
T0 = 1_796_024_000.0
IDLE_LOAD = "0.00 0.01 0.05 1/112 4096\n"


def data(name: str) -> str:
    return (DATA / name).read_text()


def agent_config(root: Path, proc: Path, idle_minutes: float | None = 30) -> dict[str, Any]:
    """envctl's default agent configuration with every path under ROOT and /proc at PROC."""
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["idle_minutes"] = idle_minutes
    config["state_file"] = str(root / "run" / "state.json")
    config["proc_root"] = str(proc)
    config["signals"]["lease"]["path"] = str(root / "var/lib/envctl/keepalive")
    config["signals"]["heartbeat"]["paths"] = [str(root / "var/lib/envctl/heartbeat")]
    return config


def recorded_runner(directory: Path) -> Callable[[tuple[str, ...], float], tuple]:
    """A command runner for agent.run_once that replays DIRECTORY/NAME.out and NAME.rc.

    A command without a .out file is not installed, as run_command reports a missing one.
    """

    def run(argv: tuple[str, ...], timeout: float) -> tuple[int | None, str, str]:
        name = Path(argv[0]).name
        output = directory / f"{name}.out"
        if not output.exists():
            return None, "", "not installed"
        status = directory / f"{name}.rc"
        return int(status.read_text()) if status.exists() else 0, output.read_text(), ""

    return run


def fixed_clock(seconds: float) -> Callable[[], tuple[float, float]]:
    """A clock for agent.run_once whose wall-clock and monotonic times are both SECONDS."""
    return lambda: (seconds, seconds)


def minute(number: float) -> float:
    """The fake wall-clock time NUMBER minutes after T0."""
    return T0 + number * 60


class SimulatedBox:
    """A temporary directory that plays the box, driven through agent.run_once.

    Commands replay files from a recorded-output directory, /proc is a directory with the
    recorded environ and cmdline files, and the poweroff and hook are recorded instead of run
    unless a test passes its own.
    Every box starts quiet: no login session, no connection, no GPU, no load.
    """

    def __init__(self, root: Path, idle_minutes: float | None = 30,
                 run_hook: Callable[[dict], object] | None = None, **overrides: Any) -> None:
        self.root = root
        self.commands = root / "commands"
        self.proc = root / "proc"
        self.lib = root / "var" / "lib" / "envctl"
        for directory in (self.commands, self.lib):
            directory.mkdir(parents=True, exist_ok=True)
        shutil.copytree(DATA / "proc", self.proc)
        self.set_boot_id("5f0c3d5e-boot-one")
        self.set_load(IDLE_LOAD)
        self.record("nproc", "4\n")
        self.record("who", data("who-u-no-utmp.txt"))
        self.record("ss", data("ss-tanpi-quiet.txt"))
        self.record("nvidia-smi", data("nvidia-smi-no-devices.txt"), returncode=6)
        self.config = agent_config(root, self.proc, idle_minutes)
        for key, value in overrides.items():
            current = self.config.get(key)
            self.config[key] = {**current, **value} if isinstance(current, dict) else value
        self.poweroffs: list[float] = []
        self.hook_calls: list[dict] = []
        self._run_hook = run_hook or self._record_hook
        self.now = T0

    def record(self, command: str, output: str, returncode: int = 0) -> None:
        """Make COMMAND print OUTPUT and exit with RETURNCODE from now on."""
        (self.commands / f"{command}.out").write_text(output)
        (self.commands / f"{command}.rc").write_text(f"{returncode}\n")

    def uninstall(self, command: str) -> None:
        (self.commands / f"{command}.out").unlink()

    def set_boot_id(self, boot_id: str) -> None:
        path = self.proc / "sys" / "kernel" / "random" / "boot_id"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(boot_id + "\n")

    def set_load(self, loadavg: str) -> None:
        (self.proc / "loadavg").write_text(loadavg)

    def write_lease(self, text: str) -> None:
        (self.lib / "keepalive").write_text(text)

    def touch_heartbeat(self, at: float) -> None:
        path = self.lib / "heartbeat"
        path.touch()
        os.utime(path, (at, at))

    def tick(self, at_minute: float) -> int:
        """Run the agent once at AT_MINUTE minutes after T0; return its exit status."""
        self.now = minute(at_minute)
        return agent.run_once(self.config, fixed_clock(self.now),
                              recorded_runner(self.commands),
                              run_hook=self._run_hook, poweroff=self._poweroff)

    def run(self, minutes: range, before_each: Callable[[int], None] | None = None
            ) -> int | None:
        """Tick once a minute over MINUTES; return the minute of the first poweroff, or None."""
        for number in minutes:
            if before_each is not None:
                before_each(number)
            self.tick(number)
            if self.poweroffs:
                return number
        return None

    def state(self) -> dict[str, Any]:
        state = agent.load_state(self.config["state_file"])
        assert state is not None
        return state

    def _record_hook(self, settings: dict) -> None:
        self.hook_calls.append(settings)

    def _poweroff(self, commands: Any) -> bool:
        self.poweroffs.append(self.now)
        return True
