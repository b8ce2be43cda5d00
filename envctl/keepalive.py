"""Keep-alive leases: hold off the autostop agent on a running box until a given time.

The autostop agent (instance/autostop) counts a box as active while the file at LEASE_PATH holds
an expiry time in the future, as Unix seconds or as an ISO 8601 time with an offset. envctl
writes one line of Unix seconds, such as ``1796407200``.

On a real box the file is written over ssh, and the expiry is computed there with ``date +%s``,
because the agent compares it with the box's clock. The session sets PROBE_MARKER and has no
terminal, so it never counts as activity itself. The sandbox has no box, so the lease goes to a
local file in its place, with the expiry computed on this machine:
``<project>/.envctl/sandbox/instances/<instance-id>/var/lib/envctl/keepalive``.
"""

from __future__ import annotations

import datetime
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from envctl.errors import EnvctlError
from envctl.lifecycle import instance_status
from envctl.workspace import Workspace

# The agent's defaults, as autostop_config() in instance/autostop/config.py deploys them.
LEASE_PATH = "/var/lib/envctl/keepalive"
PROBE_MARKER = "ENVCTL_PROBE=1"
MAX_LEASE = datetime.timedelta(days=7)
DURATION = re.compile(r"^(?:(?P<days>\d+)d)?(?:(?P<hours>\d+)h)?(?:(?P<minutes>\d+)m)?$")
END_WORDS = ("0", "off", "end")
SSH_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Lease:
    """A lease as written: its expiry (None when it was ended) and where the file lives."""

    environment: str
    expires: datetime.datetime | None
    location: str

    def __str__(self) -> str:
        if self.expires is None:
            return f"{self.environment}: keep-alive lease ended ({self.location} removed)"
        return (f"{self.environment}: autostop holds off until {lease_text(self.expires)} "
                f"(lease in {self.location})")


def parse_duration(text: str) -> datetime.timedelta:
    """Read a lease length such as 3h, 90m, 1h30m or 2d; 0, off or end mean no lease."""
    value = text.strip().lower()
    if value in END_WORDS:
        return datetime.timedelta(0)
    match = DURATION.match(value)
    if not value or match is None:
        raise EnvctlError(f"{text!r} is not a duration; use a form such as 3h, 90m, 1h30m or "
                          "2d, or off to end the lease")
    duration = datetime.timedelta(days=int(match["days"] or 0), hours=int(match["hours"] or 0),
                                  minutes=int(match["minutes"] or 0))
    if duration > MAX_LEASE:
        raise EnvctlError(f"{text!r} is longer than the maximum lease of 7 days; renew a "
                          "shorter lease when it runs out")
    return duration


def lease_text(expires: datetime.datetime) -> str:
    """Format an expiry for people: ISO 8601 in UTC, to the second."""
    return expires.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def lease_content(expires: datetime.datetime) -> str:
    """Format an expiry as the lease file holds it: Unix seconds and a newline."""
    return f"{int(expires.timestamp())}\n"


def keepalive(workspace: Workspace, name: str, duration: datetime.timedelta,
              ssh_host: str | None = None, ssh_options: tuple[str, ...] = (),
              now: datetime.datetime | None = None) -> Lease:
    """Write (or, for a zero duration, remove) the lease on the environment's running box."""
    spec = workspace.project.environment(name)
    status = instance_status(workspace, spec, "keep alive")
    if status.state not in ("pending", "running"):
        raise EnvctlError(f"{spec.name} is {status.state}, so no autostop agent runs there; "
                          f"start it with `envctl start {spec.name}`")
    if workspace.sandbox_endpoint:
        moment = now or datetime.datetime.now(datetime.UTC)
        expires = moment + duration if duration else None
        path = sandbox_lease_file(workspace.project.root, str(status.instance_id))
        write_local_lease(path, lease_content(expires) if expires else None)
        return Lease(spec.name, expires, str(path))
    host = ssh_host or status.public_ip
    if not host:
        raise EnvctlError(f"{spec.name}: {status.instance_id} has no public IP address; pass "
                          "--ssh-host with a name or address that reaches it")
    seconds = int(duration.total_seconds())
    return Lease(spec.name, write_ssh_lease(spec.name, host, ssh_options, seconds),
                 f"{host}:{LEASE_PATH}")


def sandbox_lease_file(root: Path, instance_id: str) -> Path:
    """Return the local file that takes the lease's place for a sandbox instance."""
    from envctl.sandbox.record import log_dir

    return log_dir(root) / "instances" / instance_id / LEASE_PATH.lstrip("/")


def write_local_lease(path: Path, content: str | None) -> None:
    """Replace the file atomically with content, or remove it when content is None."""
    if content is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(content, encoding="utf-8")
    os.replace(temporary, path)


def lease_script(seconds: int, path: str = LEASE_PATH) -> str:
    """Build the remote shell command that sets the lease to the box's time plus seconds.

    It replaces the file atomically as root and prints the expiry in Unix seconds. With zero
    seconds it removes the file, which ends the lease.
    """
    target = shlex.quote(path)
    temporary = shlex.quote(path + ".new")
    if seconds <= 0:
        body = f"rm -f {target}"
    else:
        body = (f"mkdir -p {shlex.quote(os.path.dirname(path))} && "
                f"expires=$(( $(date +%s) + {int(seconds)} )) && "
                f"printf '%s\\n' \"$expires\" > {temporary} && mv -f {temporary} {target} && "
                f"printf '%s\\n' \"$expires\"")
    quoted = shlex.quote(body)
    return f'if [ "$(id -u)" = 0 ]; then sh -c {quoted}; else sudo -n sh -c {quoted}; fi'


def ssh_command(host: str, ssh_options: tuple[str, ...], remote: str) -> list[str]:
    """ssh without a terminal and with the probe marker set, so the agent ignores the session.

    The marker reaches the box only where sshd accepts it (AcceptEnv ENVCTL_PROBE); without a
    terminal the session creates no login record either way.
    """
    command = ["ssh", "-T", "-o", "BatchMode=yes", "-o", f"SetEnv={PROBE_MARKER}"]
    for option in ssh_options:
        command += ["-o", option]
    return [*command, "--", host, remote]


def write_ssh_lease(name: str, host: str, ssh_options: tuple[str, ...],
                    seconds: int) -> datetime.datetime | None:
    """Set the lease over ssh; return its expiry by the box's clock (None when ended)."""
    command = ssh_command(host, ssh_options, lease_script(seconds))
    try:
        completed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                                   text=True, timeout=SSH_TIMEOUT_SECONDS, check=False)
    except FileNotFoundError:
        raise EnvctlError("ssh was not found; install an OpenSSH client") from None
    except subprocess.TimeoutExpired:
        raise EnvctlError(f"{name}: ssh to {host} timed out after {SSH_TIMEOUT_SECONDS} s; "
                          f"check that `ssh {host}` works") from None
    if completed.returncode != 0:
        lines = [line for line in completed.stderr.splitlines() if line.strip()]
        detail = lines[-1] if lines else "no output"
        raise EnvctlError(f"{name}: writing the keep-alive lease over ssh to {host} failed "
                          f"(exit {completed.returncode}: {detail}); check that `ssh {host}` "
                          "works, or pass --ssh-option User=NAME")
    if seconds <= 0:
        return None
    printed = completed.stdout.split()
    if not printed or not printed[-1].isdigit():
        raise EnvctlError(f"{name}: the lease command on {host} printed {completed.stdout!r} "
                          "instead of the expiry in Unix seconds; check the box's shell")
    return datetime.datetime.fromtimestamp(int(printed[-1]), datetime.UTC)
