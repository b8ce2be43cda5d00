"""The pure decision function, with hand-built samples."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from autostop_support import T0, data

from envctl.instance.autostop.agent import (
    MAX_CHECK_GAP_SECONDS,
    NO_SAMPLES,
    Socket,
    decide,
    describe,
    is_probe_source,
    parse_ss,
)
from envctl.instance.autostop.config import DEFAULT_CONFIG

BOOT = "5f0c3d5e-boot-one"
VSCODE = {15506: "/home/ubuntu/.vscode-server/bin/e54c/node out/server-main.js"}


def make_config(idle_minutes: float | None = 30, without: tuple[str, ...] = ()) -> dict:
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["idle_minutes"] = idle_minutes
    for name in without:
        del config["signals"][name]
    return config


CONFIG = make_config()


def at(minutes: float, monotonic_offset: float = 0.0) -> tuple[float, float]:
    return T0 + minutes * 60, T0 + minutes * 60 + monotonic_offset


def quiet(**fields: Any) -> dict[str, Any]:
    return {**NO_SAMPLES, "boot_id": BOOT, "errors": {}, **fields}


def state_at(minutes: float, last_active_minutes: float | None = None) -> dict[str, Any]:
    last = at(minutes if last_active_minutes is None else last_active_minutes)
    now = at(minutes)
    return {"boot_id": BOOT, "last_active_monotonic": last[1], "last_check_monotonic": now[1]}


class TestIdleTime:
    def test_first_check_starts_idle_time(self) -> None:
        state, stop = decide(at(0), quiet(), CONFIG, None)
        assert state["active"]
        assert state["reasons"] == ["start: no earlier check"]
        assert state["idle_seconds"] == 0
        assert not stop

    def test_idle_time_accumulates_and_stops_at_the_limit(self) -> None:
        assert decide(at(29), quiet(), CONFIG, state_at(28, 0))[1] is False
        state, stop = decide(at(30), quiet(), CONFIG, state_at(29, 0))
        assert stop
        assert state["idle_seconds"] == 30 * 60

    def test_activity_time_comes_from_terminal_idle(self) -> None:
        sessions = [("ubuntu", "pts/1", 5 * 60, 4100)]
        state, _ = decide(at(20), quiet(sessions=sessions), CONFIG, state_at(19, 0))
        assert state["reasons"] == ["ssh: ubuntu on pts/1 typed 5m ago"]
        assert state["idle_seconds"] == 5 * 60

    def test_marked_probe_session_does_not_count(self) -> None:
        sessions = [("ubuntu", "pts/0", 0, 15814)]
        state, _ = decide(at(20), quiet(sessions=sessions, marked={15814}), CONFIG,
                          state_at(19, 0))
        assert state["reasons"] == []
        assert state["idle_seconds"] == 20 * 60

    def test_wall_clock_step_does_not_move_idle_time(self) -> None:
        # The wall clock jumps 3 hours forward while one minute passes on the monotonic clock.
        previous = state_at(10, 0)
        now = (T0 + 3 * 3600, previous["last_check_monotonic"] + 60)
        state, stop = decide(now, quiet(), CONFIG, previous)
        assert state["idle_seconds"] == 11 * 60
        assert not stop

    def test_new_boot_restarts(self) -> None:
        state, _ = decide(at(90), quiet(boot_id="9d2e41aa-boot-two"), CONFIG, state_at(89, 0))
        assert state["reasons"] == ["start: first check since boot"]
        assert state["idle_seconds"] == 0

    def test_monotonic_clock_going_back_restarts(self) -> None:
        previous = {"boot_id": None, "last_active_monotonic": T0,
                    "last_check_monotonic": T0 + 4 * 60}
        state, stop = decide(at(5, monotonic_offset=-3600), quiet(boot_id=None), CONFIG,
                             previous)
        assert state["reasons"] == ["start: no check for 0s"]
        assert not stop

    def test_long_gap_between_checks_restarts(self) -> None:
        gap_minutes = MAX_CHECK_GAP_SECONDS / 60 + 1
        state, _ = decide(at(20 + gap_minutes), quiet(), CONFIG, state_at(20, 0))
        assert state["reasons"] == [f"start: no check for {int(gap_minutes)}m"]
        assert state["idle_seconds"] == 0

    def test_future_file_time_counts_as_now(self) -> None:
        beat = quiet(heartbeats=[("/var/lib/envctl/heartbeat", T0 + 86400)])
        state, _ = decide(at(10), beat, CONFIG, state_at(9, 0))
        assert state["idle_seconds"] == 0
        assert state["last_active_monotonic"] == at(10)[1]

    def test_autostop_off_reports_but_never_stops(self) -> None:
        state, stop = decide(at(500), quiet(), make_config(None), state_at(499, 0))
        assert state["idle_seconds"] == 500 * 60
        assert not stop


class TestSignals:
    def test_gpu_threshold_is_inclusive(self) -> None:
        samples = quiet(gpu=[("0", 9.0), ("1", 10.0)])
        state, _ = decide(at(5), samples, CONFIG, state_at(4, 0))
        assert state["reasons"] == ["gpu: GPU 1 at 10%"]

    def test_gpu_without_utilisation_is_quiet(self) -> None:
        state, _ = decide(at(5), quiet(gpu=[("0", None)]), CONFIG, state_at(4, 0))
        assert not state["active"]

    def test_cpu_load_is_per_core(self) -> None:
        below, _ = decide(at(5), quiet(load=(3.9, 8)), CONFIG, state_at(4, 0))
        above, _ = decide(at(5), quiet(load=(4.0, 8)), CONFIG, state_at(4, 0))
        assert not below["active"]
        assert above["reasons"] == ["cpu: load 4 on 8 cores"]

    def test_lease_until_expiry(self) -> None:
        held, _ = decide(at(5), quiet(lease=T0 + 3600), CONFIG, state_at(4, 0))
        expired, _ = decide(at(5), quiet(lease=T0), CONFIG, state_at(4, 0))
        assert held["reasons"] == ["lease: lease until 2026-11-30T08:33:20Z"]
        assert not expired["active"]

    def test_vscode_client_through_sshd_counts(self) -> None:
        sockets = parse_ss(data("ss-tanpi-fresh.txt"))
        state, _ = decide(at(5), quiet(sockets=sockets, cmdlines=VSCODE),
                          make_config(without=("ports",)), state_at(4, 0))
        assert state["reasons"] == ["ide: node (pid 15506) has a client at 127.0.0.1 port 34390"]

    def test_ide_outbound_connection_does_not_count(self) -> None:
        sockets = parse_ss(data("ss-tanpi-quiet.txt"))
        assert any(s.local[1] == 36902 and s.state == "ESTAB" for s in sockets)
        state, _ = decide(at(5), quiet(sockets=sockets, cmdlines=VSCODE), CONFIG,
                          state_at(4, 0))
        assert not state["active"]

    def test_jetbrains_backend_client_counts(self) -> None:
        backend = Socket("ESTAB", ("127.0.0.1", 5990), ("127.0.0.1", 51200), {3100: "java"}, 4)
        forwarder = Socket("ESTAB", ("127.0.0.1", 51200), ("127.0.0.1", 5990),
                           {2900: "sshd"}, 4)
        cmdline = ("/home/ubuntu/.cache/JetBrains/RemoteDev/dist/jbr/bin/java "
                   "-Didea.vendor.name=JetBrains com.intellij.idea.Main")
        samples = quiet(sockets=[backend, forwarder], cmdlines={3100: cmdline})
        state, _ = decide(at(5), samples, CONFIG, state_at(4, 0))
        assert state["reasons"] == ["ide: java (pid 3100) has a client at 127.0.0.1 port 51200"]

    def test_connection_without_traffic_details_counts(self) -> None:
        sockets = parse_ss(data("ss-tn.txt"))
        state, _ = decide(at(5), quiet(sockets=sockets), CONFIG, state_at(4, 0))
        assert "ports: port 8888 has a client at 127.0.0.1 port 59022" in state["reasons"]
        assert not any("127.0.0.2" in reason for reason in state["reasons"])

    def test_probe_failure_is_reported_as_a_note(self) -> None:
        samples = quiet(errors={"ports": "ss exit 1: Cannot open netlink"})
        state, _ = decide(at(5), samples, CONFIG, state_at(4, 0))
        assert state["notes"] == ["ports: probe failed: ss exit 1: Cannot open netlink"]

    def test_signal_left_out_does_not_count(self) -> None:
        samples = quiet(gpu=[("0", 100.0)])
        state, _ = decide(at(5), samples, make_config(without=("gpu",)), state_at(4, 0))
        assert not state["active"]

    @pytest.mark.parametrize(("address", "expected"), [
        ("127.0.0.2", True), ("127.0.0.1", False), ("10.1.2.3", True), ("*", False),
    ])
    def test_probe_sources(self, address: str, expected: bool) -> None:
        config = {"envctl_probes": {"sources": ["127.0.0.2", "10.1.0.0/16"]}}
        assert is_probe_source(address, config) is expected


class TestDescribe:
    def test_active_line_names_reasons(self) -> None:
        state, stop = decide(at(5), quiet(gpu=[("0", 87.0)]), CONFIG, state_at(4, 0))
        assert describe(state, stop, CONFIG) == "active, idle 0s of 30m: gpu: GPU 0 at 87%"

    def test_stop_line_names_probe_failures(self) -> None:
        samples = quiet(errors={"gpu": "nvidia-smi exit 9: NVIDIA-SMI has failed"})
        state, stop = decide(at(30), samples, CONFIG, state_at(29, 0))
        assert describe(state, stop, CONFIG) == (
            "stopping, idle 30m of 30m: gpu: probe failed: nvidia-smi exit 9: NVIDIA-SMI has "
            "failed")

    def test_idle_line_without_limit(self) -> None:
        state, stop = decide(at(75), quiet(), make_config(None), state_at(74, 0))
        assert describe(state, stop, CONFIG) == "idle 75m of 30m: no activity"
        assert describe(state, stop, make_config(None)) == "idle 75m of never: no activity"
