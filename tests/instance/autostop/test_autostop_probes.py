"""Probe parsers and collect() against recorded command output (data/README.md lists each)."""

from __future__ import annotations

from pathlib import Path

import pytest
from autostop_support import DATA, SimulatedBox, data, recorded_runner

from envctl.instance.autostop.agent import (
    collect,
    parse_endpoint,
    parse_lease,
    parse_nvidia_smi,
    parse_ss,
    parse_who,
    run_command,
)


class TestWho:
    def test_sessions_typed_within_the_minute(self) -> None:
        assert parse_who(data("who-u.txt")) == [
            ("root", "pts/0", 0, 15814),
            ("root", "pts/1", 0, 15825),
        ]

    def test_idle_hours_minutes_and_old(self) -> None:
        sessions = parse_who(data("who-u-idle.txt"))
        assert [s[2] for s in sessions] == [24 * 3600, 25 * 60]

    def test_c_locale_time_format(self) -> None:
        sessions = parse_who(data("who-u-c-locale.txt"))
        assert [(s[1], s[2], s[3]) for s in sessions] == [
            ("pts/0", 90 * 60, 15814),
            ("pts/1", 3 * 60, 15825),
        ]

    def test_no_utmp_means_no_sessions(self) -> None:
        assert parse_who(data("who-u-no-utmp.txt")) == []

    def test_unknown_idle_and_missing_comment(self) -> None:
        text = "ubuntu   tty1         2026-12-04 09:12   ?          812\n"
        assert parse_who(text) == [("ubuntu", "tty1", None, 812)]


class TestSs:
    def test_tn_lists_established_connections(self) -> None:
        sockets = parse_ss(data("ss-tn.txt"))
        assert len(sockets) == 20
        assert {s.state for s in sockets} == {"ESTAB"}
        assert sockets[2].local == ("127.0.0.1", 8888)
        assert sockets[2].peer == ("127.0.0.2", 40741)
        assert sockets[2].procs == {}
        assert sockets[2].age is None

    def test_tnp_names_owners(self) -> None:
        owners = {(s.local, s.peer): s.procs for s in parse_ss(data("ss-tnp.txt"))}
        assert owners[("127.0.0.1", 33833), ("127.0.0.1", 37686)] == {15506: "node"}
        assert owners[("127.0.0.1", 37686), ("127.0.0.1", 33833)] == {15754: "sshd"}

    def test_tanpi_reads_listeners_and_traffic_ages(self) -> None:
        sockets = parse_ss(data("ss-tanpi.txt"))
        listening = {s.local[1] for s in sockets if s.state == "LISTEN"}
        assert {8888, 9999, 2222, 33833, 18888, 18000} <= listening
        (jupyter,) = [s for s in sockets
                      if s.state == "ESTAB" and s.local == ("127.0.0.1", 8888)
                      and s.peer[0] == "127.0.0.2"]
        assert jupyter.age == 8.124
        assert any(s.state == "TIME-WAIT" for s in sockets)

    def test_ipv6_and_mapped_addresses(self) -> None:
        sockets = parse_ss(data("ss-tanpi-stale.txt"))
        by_peer = {s.peer: s for s in sockets if s.local[1] == 6006 and s.state == "ESTAB"}
        assert ("127.0.0.1", 43278) in by_peer
        assert by_peer["::1", 42242].procs == {17977: "python3"}
        (listener,) = [s for s in sockets if s.state == "LISTEN" and s.local[1] == 6006]
        assert listener.local == ("*", 6006)

    def test_stale_tunnel_shows_old_traffic(self) -> None:
        ages = [s.age for s in parse_ss(data("ss-tanpi-stale.txt"))
                if s.state == "ESTAB" and s.local[1] in (8888, 6006, 33833)]
        assert ages
        assert all(age is not None and age > 600 for age in ages)

    def test_netid_column_and_oneline_details(self) -> None:
        text = ("Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
                "tcp   ESTAB 0      0      10.0.0.5:8888 10.0.0.9:50111 "
                'users:(("jupyter-lab",pid=901,fd=12)) cubic lastsnd:1500 lastrcv:900\n')
        (socket,) = parse_ss(text)
        assert socket.procs == {901: "jupyter-lab"}
        assert socket.age == 0.9

    @pytest.mark.parametrize(("text", "endpoint"), [
        ("127.0.0.1:22", ("127.0.0.1", 22)),
        ("[::1]:6006", ("::1", 6006)),
        ("[::ffff:127.0.0.1]:6006", ("127.0.0.1", 6006)),
        ("::ffff:127.0.0.1:6006", ("127.0.0.1", 6006)),
        ("127.0.0.53%lo:53", ("127.0.0.53", 53)),
        ("[fe80::1%eth0]:22", ("fe80::1", 22)),
        ("*:*", ("*", 0)),
        ("0.0.0.0:*", ("0.0.0.0", 0)),
        ("garbage", None),
    ])
    def test_endpoints(self, text: str, endpoint: tuple[str, int] | None) -> None:
        assert parse_endpoint(text) == endpoint


class TestNvidiaSmi:
    def test_one_gpu(self) -> None:
        assert parse_nvidia_smi(0, data("nvidia-smi-1gpu.csv"), "") == [("0", 87.0)]

    def test_four_gpus(self) -> None:
        readings = parse_nvidia_smi(0, data("nvidia-smi-4gpu-busy.csv"), "")
        assert readings == [("0", 100.0), ("1", 0.0), ("2", 97.0), ("3", 0.0)]

    def test_utilization_without_index_counts_lines(self) -> None:
        readings = parse_nvidia_smi(0, data("nvidia-smi-4gpu-utilization-only.csv"), "")
        assert readings == [("0", 100.0), ("1", 0.0), ("2", 97.0), ("3", 0.0)]

    def test_no_devices_is_no_gpu_not_an_error(self) -> None:
        assert parse_nvidia_smi(6, data("nvidia-smi-no-devices.txt"), "") == []

    def test_mig_reports_not_available(self) -> None:
        assert parse_nvidia_smi(0, data("nvidia-smi-mig.csv"), "") == [("0", None)]

    @pytest.mark.parametrize(("name", "returncode", "message"), [
        ("nvidia-smi-driver-mismatch.txt", 18, "Driver/library version mismatch"),
        ("nvidia-smi-no-driver.txt", 9, "couldn't communicate with the NVIDIA driver"),
    ])
    def test_driver_failures_are_errors(self, name: str, returncode: int, message: str) -> None:
        with pytest.raises(RuntimeError) as error:
            parse_nvidia_smi(returncode, data(name), "")
        assert message in str(error.value)
        assert f"exit {returncode}" in str(error.value)


class TestLease:
    @pytest.mark.parametrize(("text", "expiry"), [
        ("1796034800\n", 1796034800.0),
        ("1796034800.5", 1796034800.5),
        ("2026-11-30T10:33:20Z", 1796034800.0),
        ("2026-11-30T11:33:20+01:00\n", 1796034800.0),
    ])
    def test_lease_formats(self, text: str, expiry: float) -> None:
        assert parse_lease(text) == expiry

    @pytest.mark.parametrize("text", ["2026-11-30T10:33:20", "3h", ""])
    def test_lease_rejects_ambiguous_or_relative(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_lease(text)


class TestCollect:
    def test_every_probe_reads_recorded_output(self, tmp_path: Path) -> None:
        box = SimulatedBox(tmp_path)
        box.record("who", data("who-u.txt"))
        box.record("ss", data("ss-tanpi.txt"))
        box.record("nvidia-smi", data("nvidia-smi-4gpu-busy.csv"))
        box.record("nproc", data("nproc.txt"))
        box.set_load(data("loadavg.txt"))
        box.write_lease("2026-11-30T10:33:20Z\n")
        box.touch_heartbeat(1_796_000_000)

        samples = collect(box.config, recorded_runner(box.commands))

        assert samples["errors"] == {}
        assert samples["boot_id"] == "5f0c3d5e-boot-one"
        assert [s[3] for s in samples["sessions"]] == [15814, 15825]
        # proc/15814/environ carries ENVCTL_PROBE=1; proc/15825/environ does not.
        assert samples["marked"] == {15814}
        assert len(samples["sockets"]) == len(parse_ss(data("ss-tanpi.txt")))
        assert "out/server-main.js" in samples["cmdlines"][15506]
        assert samples["gpu"][0] == ("0", 100.0)
        assert samples["load"] == (1.05, 2)
        assert samples["lease"] == 1796034800.0
        assert samples["heartbeats"] == [(str(box.lib / "heartbeat"), 1_796_000_000)]

    def test_failed_probe_lands_in_errors(self, tmp_path: Path) -> None:
        box = SimulatedBox(tmp_path)
        box.record("nvidia-smi", data("nvidia-smi-no-driver.txt"), returncode=9)
        box.record("ss", "", returncode=1)
        box.write_lease("in three hours")

        samples = collect(box.config, recorded_runner(box.commands))

        assert samples["errors"]["gpu"].startswith("nvidia-smi exit 9: NVIDIA-SMI has failed")
        assert samples["errors"]["ide"] == "ss exit 1: no output"
        assert samples["errors"]["ports"] == "ss exit 1: no output"
        assert "lease" in samples["errors"]
        assert samples["gpu"] == []
        assert samples["load"] == (0.0, 4)

    def test_missing_nvidia_smi_means_no_gpu(self, tmp_path: Path) -> None:
        box = SimulatedBox(tmp_path)
        box.uninstall("nvidia-smi")

        samples = collect(box.config, recorded_runner(box.commands))

        assert samples["gpu"] == []
        assert "gpu" not in samples["errors"]


class TestCommandRunners:
    def test_run_command_captures_output_in_the_c_locale(self) -> None:
        result = run_command(["sh", "-c", 'echo "$LC_ALL"; echo oops >&2; exit 4'], 30)
        assert result == (4, "C\n", "oops\n")

    def test_run_command_missing_binary(self) -> None:
        assert run_command(["nvidia-smi-not-installed-here"], 30)[0] is None

    def test_run_command_timeout_kills_the_command(self) -> None:
        with pytest.raises(RuntimeError, match="sleep timed out after 0.5s"):
            run_command(["sleep", "300"], 0.5)

    def test_recorded_runner_replays_files(self, tmp_path: Path) -> None:
        (tmp_path / "nvidia-smi.out").write_text(data("nvidia-smi-no-driver.txt"))
        (tmp_path / "nvidia-smi.rc").write_text("9\n")
        runner = recorded_runner(tmp_path)
        code, out, _ = runner(["nvidia-smi", "--query-gpu=index,utilization.gpu"], 20)
        assert code == 9
        assert out.startswith("NVIDIA-SMI has failed")
        assert runner(["who", "-u"], 20)[0] is None


def test_every_recorded_file_is_used() -> None:
    used = {path.name for path in DATA.iterdir()} - {"README.md", "proc"}
    sources = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py"))
    assert sorted(name for name in used if name not in sources) == []
