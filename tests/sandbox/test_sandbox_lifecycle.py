"""up, status, current and down start, find and stop real moto and OpenBao processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from envctl.errors import SandboxError
from envctl.sandbox import Sandbox, current, down, status, up
from envctl.sandbox.lifecycle import SERVICES
from envctl.sandbox.processes import free_port
from envctl.sandbox.record import record_path

LOOPBACK = "127.0.0.1"


def dead_pid() -> int:
    """Return the pid of a process that has already exited."""
    probe = subprocess.Popen([sys.executable, "-c", "pass"])
    probe.wait()
    return probe.pid


def process_runs(pid: int) -> bool:
    """Return whether pid is alive and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def listening_addresses(pid: int) -> set[str]:
    """Return the local IPv4 and IPv6 addresses (hex, as in /proc/net) that pid listens on."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(descriptor)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    addresses = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A is TCP_LISTEN
                addresses.add(local.rsplit(":", 1)[0])
    return addresses


def test_up_twice_returns_same_servers(sandbox_root):
    first = up(sandbox_root)

    second = up(sandbox_root)

    assert second == first
    assert status(sandbox_root) == {"aws": "running", "vault": "running"}


def test_up_records_endpoints_and_token(sandbox_root):
    started = up(sandbox_root)

    record = json.loads(record_path(sandbox_root).read_text())

    assert record["aws_endpoint"] == started.aws_endpoint
    assert record["vault_address"] == started.vault_address
    assert record["vault_token"] == started.vault_token
    assert record["pids"] == started.pids
    assert record_path(sandbox_root).stat().st_mode & 0o077 == 0


def test_status_before_up_reports_stopped(sandbox_root):
    assert status(sandbox_root) == {"aws": "stopped", "vault": "stopped"}
    assert current(sandbox_root) is None


def test_down_stops_processes(sandbox_root):
    started = up(sandbox_root)

    stopped = down(sandbox_root)

    assert stopped is True
    for service in SERVICES:
        assert not process_runs(started.pids[service]), service
    assert not record_path(sandbox_root).exists()
    assert status(sandbox_root) == {"aws": "stopped", "vault": "stopped"}
    assert current(sandbox_root) is None


def test_down_without_sandbox_returns_false(sandbox_root):
    assert down(sandbox_root) is False


def test_stale_record_replaced(sandbox_root):
    stale = Sandbox(
        aws_endpoint=f"http://{LOOPBACK}:{free_port()}",
        vault_address=f"http://{LOOPBACK}:{free_port()}",
        vault_token="stale-token",
        pids={"aws": dead_pid(), "vault": dead_pid()},
    )
    record_path(sandbox_root).parent.mkdir(parents=True)
    record_path(sandbox_root).write_text(json.dumps(asdict(stale)))

    started = up(sandbox_root)

    assert started.pids != stale.pids
    assert started.vault_token != stale.vault_token
    assert status(sandbox_root) == {"aws": "running", "vault": "running"}
    assert json.loads(record_path(sandbox_root).read_text())["pids"] == started.pids


def test_half_stopped_sandbox_replaced(sandbox_root):
    first = up(sandbox_root)
    os.kill(first.pids["vault"], signal.SIGKILL)

    second = up(sandbox_root)

    assert second.pids["vault"] != first.pids["vault"]
    assert second.pids["aws"] != first.pids["aws"]
    assert not process_runs(first.pids["aws"])
    assert status(sandbox_root) == {"aws": "running", "vault": "running"}


def test_reused_pid_never_signalled(sandbox_root):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record_path(sandbox_root).parent.mkdir(parents=True)
        record_path(sandbox_root).write_text(json.dumps(asdict(Sandbox(
            f"http://{LOOPBACK}:{free_port()}", f"http://{LOOPBACK}:{free_port()}", "token",
            {"aws": bystander.pid, "vault": bystander.pid}))))

        down(sandbox_root)

        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_invalid_record_raises_sandbox_error(sandbox_root):
    record_path(sandbox_root).parent.mkdir(parents=True)
    record_path(sandbox_root).write_text("{not json")

    with pytest.raises(SandboxError, match="invalid sandbox record .*sandbox.json"):
        up(sandbox_root)
    record_path(sandbox_root).unlink()  # lets the fixture's down() find no record


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs Linux /proc")
def test_servers_listen_only_on_loopback(sandbox):
    loopback_hex = {"0100007F", "00000000000000000000000001000000"}

    for service in SERVICES:
        listening = listening_addresses(sandbox.pids[service])

        assert listening, service
        assert listening <= loopback_hex, service


def test_environment_points_only_at_loopback(sandbox):
    environment = sandbox.environment()

    for name, value in environment.items():
        if "://" in value:
            assert urlsplit(value).hostname == LOOPBACK, name
    assert environment["AWS_ENDPOINT_URL"] == sandbox.aws_endpoint
    assert environment["VAULT_ADDR"] == sandbox.vault_address
    assert environment["VAULT_TOKEN"] == sandbox.vault_token
    assert environment["AWS_ACCESS_KEY_ID"] == "test"
    assert environment["AWS_SECRET_ACCESS_KEY"] == "test"
    assert environment["AWS_EC2_METADATA_DISABLED"] == "true"
    assert environment["AWS_DEFAULT_REGION"] == "us-east-1"
    assert environment["NO_PROXY"] == LOOPBACK


def test_client_settings_point_at_loopback(sandbox):
    settings = sandbox.client_settings("eu-west-1")

    assert urlsplit(settings["endpoint_url"]).hostname == LOOPBACK
    assert settings["region_name"] == "eu-west-1"
    assert settings["aws_access_key_id"] == "test"


def test_concurrent_up_starts_one_sandbox(sandbox_root):
    script = ("import json, sys; from pathlib import Path; from envctl.sandbox import up; "
              "print(json.dumps(up(Path(sys.argv[1])).pids))")
    callers = [subprocess.Popen([sys.executable, "-c", script, str(sandbox_root)],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]

    outputs = [caller.communicate()[0] for caller in callers]

    assert [caller.returncode for caller in callers] == [0, 0]
    assert json.loads(outputs[0]) == json.loads(outputs[1])
