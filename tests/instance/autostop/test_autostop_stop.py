"""The stop sequence: the pre-stop hook as a real subprocess, then the poweroff commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from autostop_support import SimulatedBox, fixed_clock, recorded_runner

from envctl.instance.autostop import agent
from envctl.instance.autostop.agent import power_off, run_pre_stop_hook

IDLE = 30


def alive(pid: int) -> bool:
    """Whether PID runs; a zombie waiting for its parent to reap it counts as ended."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def write_script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def hook(command: str | None, timeout_seconds: float = 30, user: str | None = None) -> dict:
    return {"command": command, "timeout_seconds": timeout_seconds, "user": user}


class TestHook:
    def test_output_is_logged(self, caplog: pytest.LogCaptureFixture) -> None:
        outcome = run_pre_stop_hook(hook("echo saving checkpoint; echo sync failed >&2; exit 3"))

        assert outcome == "exited 3"
        assert caplog.messages == [
            "pre-stop hook: saving checkpoint",
            "pre-stop hook: sync failed",
            "pre-stop hook exited 3; powering off",
        ]

    def test_no_command_runs_nothing(self, caplog: pytest.LogCaptureFixture) -> None:
        assert run_pre_stop_hook(hook(None)) is None
        assert caplog.messages == []

    def test_timeout_kills_the_whole_process_group(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        pid_file = tmp_path / "sleep.pid"
        command = f"echo started; sleep 300 & echo $! > {pid_file}; wait"

        outcome = run_pre_stop_hook(hook(command, timeout_seconds=1))

        assert outcome == "timed out after 1s and was killed"
        assert "pre-stop hook: started" in caplog.messages
        assert not alive(int(pid_file.read_text()))

    def test_hook_that_ignores_sigterm_is_killed(self, tmp_path: Path) -> None:
        pid_file = tmp_path / "shell.pid"
        command = f"trap '' TERM; echo $$ > {pid_file}; sleep 300"

        outcome = run_pre_stop_hook(hook(command, timeout_seconds=1))

        assert outcome == "timed out after 1s and was killed"
        assert not alive(int(pid_file.read_text()))

    def test_hook_that_cannot_start(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # With a user set, the hook runs through runuser, which this PATH does not contain.
        monkeypatch.setenv("PATH", str(tmp_path))

        outcome = run_pre_stop_hook(hook("true", user="ubuntu"))

        assert outcome == "could not start: runuser: No such file or directory"


class TestStopSequence:
    def test_hook_then_poweroff(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        order = tmp_path / "order"
        box = SimulatedBox(tmp_path, idle_minutes=IDLE, run_hook=run_pre_stop_hook,
                           pre_stop={"command": f"echo hook >> {order}; echo checkpoint saved"})

        assert box.run(range(0, 2 * IDLE)) == IDLE

        assert order.read_text() == "hook\n"
        assert "pre-stop hook: checkpoint saved" in caplog.messages
        assert "pre-stop hook exited 0; powering off" in caplog.messages

    def test_hook_timeout_still_powers_off(self, tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
        box = SimulatedBox(tmp_path, idle_minutes=IDLE, run_hook=run_pre_stop_hook,
                           pre_stop={"command": "sleep 300", "timeout_seconds": 1})

        assert box.run(range(0, 2 * IDLE)) == IDLE
        assert "pre-stop hook timed out after 1s and was killed; powering off" in caplog.messages

    def test_hook_failure_still_powers_off(self, tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
        box = SimulatedBox(tmp_path, idle_minutes=IDLE, run_hook=run_pre_stop_hook,
                           pre_stop={"command": "echo upload failed; exit 2"})

        assert box.run(range(0, 2 * IDLE)) == IDLE
        assert "pre-stop hook: upload failed" in caplog.messages
        assert "pre-stop hook exited 2; powering off" in caplog.messages

    def test_unwritable_state_does_not_stop(self, tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
        box = SimulatedBox(tmp_path, idle_minutes=IDLE)
        box.run(range(0, IDLE))
        # A file where the state directory should be makes every write fail, even for root.
        blocker = tmp_path / "blocker"
        blocker.write_text("")
        box.config["state_file"] = str(blocker / "state.json")

        assert box.tick(IDLE + 1) == 1
        assert box.poweroffs == []


class TestPowerOff:
    def test_first_command_that_succeeds_wins(self, tmp_path: Path) -> None:
        marker = tmp_path / "powered-off"
        script = write_script(tmp_path / "poweroff", f'echo "$@" > {marker}\n')

        assert power_off([["false"], [str(tmp_path / "missing")], [str(script), "--now"]])
        assert marker.read_text() == "--now\n"

    def test_every_command_failing(self, tmp_path: Path,
                                   caplog: pytest.LogCaptureFixture) -> None:
        failing = write_script(tmp_path / "poweroff", "echo 'Access denied' >&2; exit 1\n")

        assert not power_off([[str(failing)], [str(tmp_path / "missing")]])
        assert f"poweroff command {failing} failed: exit 1: Access denied" in caplog.messages

    def test_failed_poweroff_exits_nonzero(self, tmp_path: Path) -> None:
        box = SimulatedBox(tmp_path, idle_minutes=IDLE)
        box.run(range(0, IDLE))

        exit_code = agent.run_once(box.config, fixed_clock(box.now + 60),
                                   recorded_runner(box.commands),
                                   run_hook=lambda settings: None,
                                   poweroff=lambda commands: False)

        assert exit_code == 1
