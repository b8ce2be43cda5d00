"""The process helpers behind the sandbox, run on small real processes."""

from __future__ import annotations

import socket
import sys

import pytest

from envctl.errors import SandboxError
from envctl.sandbox import processes

SLEEPER = "import time; time.sleep(60)  # envctl-test-sleeper"


def test_free_port_pair_is_adjacent_and_free():
    port = processes.free_port_pair()

    for candidate in (port, port + 1):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", candidate))


def test_wait_reports_early_exit_with_log(tmp_path):
    log_file = tmp_path / "crash.log"
    command = [sys.executable, "-c", "print('bind failed: address in use'); raise SystemExit(3)"]
    pid = processes.start(command, {}, log_file)

    with pytest.raises(SandboxError, match="exited during startup: bind failed"):
        processes.wait_until_ready(pid, "bind failed", "http://127.0.0.1:9/", log_file)


def test_stop_ends_matching_process(tmp_path):
    pid = processes.start([sys.executable, "-c", SLEEPER], {}, tmp_path / "sleeper.log")
    assert processes.is_ours(pid, "envctl-test-sleeper")

    processes.stop(pid, "envctl-test-sleeper")

    assert not processes.is_ours(pid, "envctl-test-sleeper")


def test_stop_skips_process_without_marker(tmp_path):
    pid = processes.start([sys.executable, "-c", SLEEPER], {}, tmp_path / "sleeper.log")
    try:
        processes.stop(pid, "some-other-server --port 1")

        assert processes.is_ours(pid, "envctl-test-sleeper")
    finally:
        processes.stop(pid, "envctl-test-sleeper")


def test_is_healthy_false_without_server():
    assert processes.is_healthy(f"http://127.0.0.1:{processes.free_port()}/") is False
