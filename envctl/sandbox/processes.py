"""Background server processes on 127.0.0.1: free ports, start, probe and stop.

A process counts as ours only while its command line contains a marker that names its port,
so a recorded pid that the system has since given to another program is never signalled.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from envctl.errors import SandboxError
from envctl.sandbox.record import HOST

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.1

# Started processes by pid, kept so that this process can reap its own children, because a
# child that exited but was not reaped is a zombie that still has a pid.
_children: dict[int, subprocess.Popen[bytes]] = {}

# An opener without proxy handlers, so a probe of 127.0.0.1 never goes through HTTP_PROXY.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def free_port_pair() -> int:
    """Return a free port whose successor is free too; OpenBao dev mode binds both."""
    for _ in range(50):
        port = free_port()
        if port < 65535 and _is_free(port + 1):
            return port
    raise SandboxError(f"no two adjacent free TCP ports on {HOST}; stop some local servers")


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True


def start(command: Sequence[str], environment: Mapping[str, str], log_file: Path) -> int:
    """Start command in a new session that outlives this process; return its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as output:
        process = subprocess.Popen(
            list(command), stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            env=dict(environment), cwd=log_file.parent, start_new_session=True,
        )
    _children[process.pid] = process
    log.info("started %s (pid %d), log %s", command[0], process.pid, log_file)
    return process.pid


def is_ours(pid: int, marker: str) -> bool:
    """Return whether pid is alive and its command line contains marker."""
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        return False
    if child is not None and marker in " ".join(child.args):  # type: ignore[arg-type]
        # Right after exec, /proc/<pid>/cmdline can still read empty, so trust Popen here.
        return True
    command = _command_line(pid)
    return command is not None and marker in command


def _command_line(pid: int) -> str | None:
    if Path("/proc/self").exists():
        try:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return arguments.replace(b"\0", b" ").decode(errors="replace")
    listing = subprocess.run(["ps", "-o", "command=", "-p", str(pid)],
                             capture_output=True, text=True, check=False)
    return listing.stdout.strip() or None


def is_healthy(url: str) -> bool:
    """Return whether an HTTP GET of url (on 127.0.0.1) returns a 2xx status."""
    try:
        with _direct.open(url, timeout=2) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def post(url: str) -> None:
    """Send an empty HTTP POST to url (on 127.0.0.1); raise SandboxError unless it returns 2xx."""
    request = urllib.request.Request(url, data=b"", method="POST")
    try:
        with _direct.open(request, timeout=30):
            return
    except (urllib.error.URLError, OSError) as error:
        raise SandboxError(f"POST {url} failed: {error}; check `envctl sandbox status`") from error


def wait_until_ready(pid: int, marker: str, url: str, log_file: Path) -> None:
    """Wait until url returns 2xx; raise SandboxError if the process exits or time runs out."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not is_ours(pid, marker):
            raise SandboxError(f"server pid {pid} exited during startup: {_tail(log_file)}; "
                               f"see {log_file}")
        if is_healthy(url):
            return
        time.sleep(POLL_INTERVAL_S)
    raise SandboxError(f"server pid {pid} timed out after {START_TIMEOUT_S:.0f} s waiting for "
                       f"{url}: {_tail(log_file)}; see {log_file}")


def stop(pid: int, marker: str) -> None:
    """Stop the process group that pid leads: SIGTERM, then SIGKILL if it lingers."""
    for signal_number in (signal.SIGTERM, signal.SIGKILL):
        if not is_ours(pid, marker):
            return
        try:
            os.killpg(pid, signal_number)
        except ProcessLookupError:
            return
        if _wait_for_exit(pid, marker):
            log.info("stopped pid %d", pid)
            return
    raise SandboxError(f"pid {pid} still runs after SIGKILL; check it with `ps -p {pid}`")


def _wait_for_exit(pid: int, marker: str) -> bool:
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not is_ours(pid, marker):
            _children.pop(pid, None)
            return True
        time.sleep(POLL_INTERVAL_S)
    return False


def _tail(log_file: Path) -> str:
    try:
        lines = log_file.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "empty log"
