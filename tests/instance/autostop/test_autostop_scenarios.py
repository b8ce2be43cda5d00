"""Whole-box scenarios: recorded probe output replayed once a minute on a fake clock.

Each scenario drives agent.run_once through SimulatedBox, so the parsers, the decision, the
state file and the stop sequence all run for real. Only the commands replay recorded output,
and the poweroff is recorded instead of run. IDLE is the idle time before a stop, in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from autostop_support import SimulatedBox, data, minute

from envctl.instance.autostop import agent

IDLE = 30
BUSY_CPU_LOAD = "3.10 2.90 2.40 5/301 7777\n"  # 0.78 per core on the simulated 4 cores
ONE_TRAINING_PROCESS_LOAD = "1.02 1.01 1.00 2/300 4242\n"  # 0.26 per core: below 0.5


@dataclass
class Scenario:
    name: str
    outputs: dict[str, str] = field(default_factory=dict)  # command -> recorded file
    returncodes: dict[str, int] = field(default_factory=dict)
    load: str | None = None
    expected_stop: int | None = None  # the minute of the poweroff; None: stays up


SCENARIOS = [
    Scenario("training on four GPUs with nobody connected",
             outputs={"nvidia-smi": "nvidia-smi-4gpu-busy.csv"}, load=ONE_TRAINING_PROCESS_LOAD),
    Scenario("CPU job on a box without GPUs", load=BUSY_CPU_LOAD),
    Scenario("VS Code and Jupyter in use through the tunnel",
             outputs={"ss": "ss-tanpi-fresh.txt"}),
    Scenario("open but untouched SSH session with nothing running",
             outputs={"who": "who-u-idle.txt", "ss": "ss-tanpi-stale.txt"}, expected_stop=IDLE),
    Scenario("tunnel and VS Code window left open on a sleeping laptop",
             outputs={"ss": "ss-tanpi-stale.txt"}, expected_stop=IDLE),
    Scenario("envctl status --watch and port probes only",
             outputs={"who": "who-u-probe-only.txt", "ss": "ss-tanpi-probe-only.txt"},
             expected_stop=IDLE),
    Scenario("GPU driver broken and nothing else running",
             outputs={"nvidia-smi": "nvidia-smi-no-driver.txt"},
             returncodes={"nvidia-smi": 9}, expected_stop=IDLE),
    Scenario("idle GPUs", outputs={"nvidia-smi": "nvidia-smi-4gpu-idle.csv"},
             expected_stop=IDLE),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(scenario: Scenario, tmp_path: Path) -> None:
    box = SimulatedBox(tmp_path, idle_minutes=IDLE)
    for command, name in scenario.outputs.items():
        box.record(command, data(name), scenario.returncodes.get(command, 0))
    if scenario.load:
        box.set_load(scenario.load)

    stopped = box.run(range(0, 4 * IDLE))

    assert stopped == scenario.expected_stop


def test_training_then_idle_gpus(tmp_path: Path) -> None:
    box = SimulatedBox(tmp_path, idle_minutes=IDLE)
    box.record("nvidia-smi", data("nvidia-smi-4gpu-busy.csv"))
    box.set_load(ONE_TRAINING_PROCESS_LOAD)

    assert box.run(range(0, 6 * 60)) is None
    assert "gpu: GPU 0 at 100%" in box.state()["reasons"]
    assert "gpu: GPU 2 at 97%" in box.state()["reasons"]

    box.record("nvidia-smi", data("nvidia-smi-4gpu-idle.csv"))
    stopped = box.run(range(6 * 60, 8 * 60))

    assert stopped == 6 * 60 - 1 + IDLE


def test_typing_in_an_open_session_restarts_idle_time(tmp_path: Path) -> None:
    box = SimulatedBox(tmp_path, idle_minutes=IDLE)
    box.record("ss", data("ss-tanpi-stale.txt"))

    def session(number: int) -> None:
        # At minute 10 the user types on pts/1; who -u then shows it idle below a minute.
        box.record("who", data("who-u.txt" if number == 10 else "who-u-idle.txt"))

    stopped = box.run(range(0, 4 * IDLE), before_each=session)

    assert stopped == 10 + IDLE


def test_envctl_probes_are_ignored_not_missed(tmp_path: Path) -> None:
    box = SimulatedBox(tmp_path, idle_minutes=IDLE)
    box.record("who", data("who-u-probe-only.txt"))
    box.record("ss", data("ss-tanpi-probe-only.txt"))
    box.tick(0)

    box.tick(1)

    state = box.state()
    assert state["active"] is False
    assert state["reasons"] == []
    assert state["notes"] == []


def test_same_probe_connection_counts_from_another_address(tmp_path: Path) -> None:
    box = SimulatedBox(tmp_path, idle_minutes=IDLE)
    box.record("ss", data("ss-tanpi-probe-only.txt"))
    box.config["envctl_probes"]["sources"] = ["127.0.0.3"]

    assert box.run(range(0, 4 * IDLE)) is None
    assert "ports: port 8888 has a client at 127.0.0.2 port 41513" in box.state()["reasons"]


def test_lease_holds_until_it_expires_then_stops(tmp_path: Path) -> None:
    box = SimulatedBox(tmp_path, idle_minutes=IDLE)
    box.write_lease(f"{int(minute(90))}\n")

    assert box.run(range(0, 90)) is None
    assert box.state()["reasons"] == ["lease: lease until 2026-11-30T09:03:20Z"]

    stopped = box.run(range(90, 4 * IDLE + 90))

    # The last check that saw the lease was at minute 89; the idle time runs from there.
    assert stopped == 89 + IDLE


def test_shortened_lease_stops_sooner(tmp_path: Path) -> None:
    box = SimulatedBox(tmp_path, idle_minutes=IDLE)
    box.write_lease("2026-11-30T15:00:00Z")

    def cancel(number: int) -> None:
        if number == 20:
            box.write_lease(f"{int(minute(20))}\n")

    assert box.run(range(0, 4 * IDLE), before_each=cancel) == 19 + IDLE


def test_heartbeat_file_keeps_box_up_while_touched(tmp_path: Path) -> None:
    box = SimulatedBox(tmp_path, idle_minutes=IDLE)

    def training_step(number: int) -> None:
        if number <= 50:
            box.touch_heartbeat(minute(number))

    assert box.run(range(0, 4 * IDLE), before_each=training_step) == 50 + IDLE


def test_failed_setup_still_stops(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Setup failed before it installed the NVIDIA driver and the user's pre-stop script.
    box = SimulatedBox(tmp_path, idle_minutes=IDLE, run_hook=agent.run_pre_stop_hook,
                       pre_stop={"command": str(tmp_path / "opt/ml/save-and-sync.sh"),
                                 "timeout_seconds": 10})
    box.record("nvidia-smi", data("nvidia-smi-no-driver.txt"), returncode=9)
    (box.lib / "status").write_text("state=failed\nfailed_steps=setup\n")

    stopped = box.run(range(0, 4 * IDLE))

    assert stopped == IDLE
    assert "pre-stop hook exited 127; powering off" in caplog.messages
    (note,) = box.state()["notes"]
    assert note.startswith("gpu: probe failed: nvidia-smi exit 9: NVIDIA-SMI has failed")


def test_restart_gives_a_fresh_idle_time(tmp_path: Path) -> None:
    box = SimulatedBox(tmp_path, idle_minutes=IDLE)
    assert box.run(range(0, IDLE - 1)) is None

    box.set_boot_id("9d2e41aa-boot-two")

    assert box.run(range(IDLE - 1, 4 * IDLE)) == IDLE - 1 + IDLE


def test_agent_pause_does_not_stop_at_once(tmp_path: Path) -> None:
    box = SimulatedBox(tmp_path, idle_minutes=IDLE)
    assert box.run(range(0, 10)) is None

    stopped = box.run(range(200, 200 + 4 * IDLE))

    assert stopped == 200 + IDLE


def test_autostop_off_never_stops(tmp_path: Path) -> None:
    box = SimulatedBox(tmp_path, idle_minutes=None)

    assert box.run(range(0, 8 * IDLE)) is None
    assert box.state()["idle_seconds"] == (8 * IDLE - 1) * 60


def test_signal_left_out_does_not_count(tmp_path: Path) -> None:
    box = SimulatedBox(tmp_path, idle_minutes=IDLE)
    box.record("nvidia-smi", data("nvidia-smi-4gpu-busy.csv"))
    del box.config["signals"]["gpu"]

    assert box.run(range(0, 4 * IDLE)) == IDLE


def test_unfinished_poweroff_is_retried(tmp_path: Path) -> None:
    box = SimulatedBox(tmp_path, idle_minutes=IDLE)
    for number in range(0, IDLE + 1):
        box.tick(number)
    assert box.poweroffs == [minute(IDLE)]

    # The box is still up, so the next run stops it again, hook included.
    box.tick(IDLE + 1)
    assert box.poweroffs == [minute(IDLE), minute(IDLE + 1)]
    assert len(box.hook_calls) == 2
