"""The boot's setup logs: read over ssh from a running box, or from what the sandbox keeps.

The boot (instance/scripts/boot.sh) writes each setup script's output to
``<mount path>/.envctl/logs/<name>.log`` on the data volume and its state to
/var/lib/envctl/status. On a real box both are read over ssh. The boot's own lines also go to
the serial console, which EC2 keeps and GetConsoleOutput returns, so that works without ssh.

The sandbox runs no machine. moto returns a fixed sample kernel log from GetConsoleOutput,
which belongs to no environment. A log file exists only where something wrote it under
``<project>/.envctl/sandbox/instances/<instance-id>/``, the folder that takes the place of the
box's root. A boot run with ENVCTL_ROOT set to that folder writes its logs and status there.
"""

from __future__ import annotations

import base64
import binascii
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import CloudError, EnvctlError
from envctl.inventory import EnvironmentStatus, probe_config
from envctl.workspace import Workspace

# The log files boot.sh writes, by the name of the step that writes them.
LOG_FILES = {
    "setup": "setup.log",
    "personal-setup": "personal-setup.log",
    "dotfiles": "dotfiles.log",
}
STATUS_PATH = "/var/lib/envctl/status"
SSH_TIMEOUT_SECONDS = 60
# The remote script exits with this status when the log file does not exist.
NO_LOG_STATUS = 3
# Starts the remote script's status line, so lines that a shell startup file prints come before
# it and are skipped.
STATUS_MARKER = "envctl-status:"


@dataclass(frozen=True)
class SetupLog:
    """The tail of one setup log, where it came from, and the boot's status when it was read."""

    environment: str
    instance_id: str
    log: str
    source: str
    text: str
    found: bool
    status: dict[str, str] | None = None
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "instance_id": self.instance_id,
            "log": self.log,
            "source": self.source,
            "found": self.found,
            "status": self.status,
            "notes": list(self.notes),
            "text": self.text,
        }


def log_path(spec: EnvironmentSpec, log: str) -> str:
    """Return the path of one setup log on the box, such as /data/.envctl/logs/setup.log."""
    return f"{spec.volume.mount_path}/.envctl/logs/{LOG_FILES[log]}"


def parse_status(text: str) -> dict[str, str]:
    """Read the boot's status file: one key=value per line, such as state=failed."""
    entries = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key: value for key, value in entries}


def last_lines(text: str, lines: int) -> str:
    return "".join(text.splitlines(keepends=True)[-lines:])


# Over ssh ----------------------------------------------------------------------------------


def remote_script(path: str, lines: int) -> str:
    """Build the command run on the box, which prints STATUS_MARKER and the status file in
    base64 on one line (the marker alone when the file is missing), then the log's last lines.

    It exits with NO_LOG_STATUS when the log is missing. ENVCTL_ROOT prefixes both paths, as in
    the boot scripts, and is unset on a real box.
    """
    return (
        'root="${ENVCTL_ROOT-}"; '
        f"printf %s {STATUS_MARKER}; "
        f'if [ -r "$root{STATUS_PATH}" ]; then base64 < "$root{STATUS_PATH}" | tr -d "\\n"; fi; '
        "echo; "
        f'if [ -r "$root{path}" ]; then tail -n {int(lines)} -- "$root{path}"; '
        f"else exit {NO_LOG_STATUS}; fi"
    )


def read_over_ssh(spec: EnvironmentSpec, instance_id: str, ssh: Sequence[str], log: str,
                  lines: int) -> SetupLog:
    """Read a setup log and the boot's status from a running box.

    ssh is the ssh command line up to and including the host, such as
    ["ssh", "-F", CONFIG, "-T", "--", "envctl-whisper"], and the remote command goes after it.
    """
    path = log_path(spec, log)
    completed = _run_ssh(spec.name, [*ssh, remote_script(path, lines)])
    _, _, output = completed.stdout.partition(STATUS_MARKER)
    status_line, _, text = output.partition("\n")
    found = completed.returncode == 0
    if not found and completed.returncode != NO_LOG_STATUS:
        stderr_lines = [line for line in completed.stderr.splitlines() if line.strip()]
        detail = stderr_lines[-1] if stderr_lines else "no output"
        raise EnvctlError(f"{spec.name}: reading {path} over ssh failed (exit "
                          f"{completed.returncode}: {detail}); check that "
                          f"`envctl ssh {spec.name}` works")
    status = _decoded_status(status_line)
    notes = () if found else (_missing_log_note(path, log, status),)
    return SetupLog(spec.name, instance_id, log, f"ssh: {path}", text, found, status, notes)


def follow_over_ssh(spec: EnvironmentSpec, ssh: Sequence[str], log: str, lines: int) -> int:
    """Print a setup log as it grows (tail -F on the box) until interrupted; return ssh's exit
    status."""
    path = log_path(spec, log)
    remote = f'tail -n {int(lines)} -F -- "${{ENVCTL_ROOT-}}{path}"'
    try:
        return subprocess.run([*ssh, remote], stdin=subprocess.DEVNULL, check=False).returncode
    except FileNotFoundError:
        raise EnvctlError("ssh not found on PATH; install the OpenSSH client") from None


def _run_ssh(name: str, command: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", timeout=SSH_TIMEOUT_SECONDS, check=False)
    except FileNotFoundError:
        raise EnvctlError("ssh not found on PATH; install the OpenSSH client") from None
    except subprocess.TimeoutExpired:
        raise EnvctlError(f"{name}: ssh timed out after {SSH_TIMEOUT_SECONDS} s; check that "
                          f"`envctl ssh {name}` works") from None


def _decoded_status(line: str) -> dict[str, str] | None:
    if not line.strip():
        return None
    try:
        return parse_status(base64.b64decode(line.strip()).decode("utf-8", errors="replace"))
    except (binascii.Error, ValueError):
        return None


def _missing_log_note(path: str, log: str, status: dict[str, str] | None) -> str:
    if status is None:
        return (f"no {path} and no {STATUS_PATH}: the boot has not started yet, or this "
                "instance was not booted by envctl's user data")
    state = status.get("state", "unknown")
    failed = status.get("failed_steps") or "none"
    return (f"no {path} yet (boot state {state}, failed steps: {failed}); the environment may "
            f"have no {log} script, or the boot stopped before it")


# Sandbox and console -------------------------------------------------------------------------


def sandbox_box_root(project_root: Path, instance_id: str) -> Path:
    """Return the folder that takes the place of a sandbox instance's root (envctl keepalive
    writes its lease file there too)."""
    from envctl.sandbox.record import log_dir

    return log_dir(project_root) / "instances" / instance_id


def read_in_sandbox(workspace: Workspace, spec: EnvironmentSpec, status: EnvironmentStatus,
                    log: str, lines: int) -> SetupLog:
    """Read the recorded log file of a sandbox instance, else moto's console output."""
    instance_id = str(status.instance_id)
    box = sandbox_box_root(workspace.project.root, instance_id)
    recorded = box / log_path(spec, log).lstrip("/")
    status_file = box / STATUS_PATH.lstrip("/")
    boot_status = parse_status(status_file.read_text(errors="replace")) if (
        status_file.is_file()) else None
    no_machine = f"sandbox: no machine ran the boot or the {log} script of {instance_id}"
    if recorded.is_file():
        text = last_lines(recorded.read_text(errors="replace"), lines)
        note = f"{no_machine}; this file was recorded on this machine, not on a box"
        return SetupLog(spec.name, instance_id, log, f"recorded file: {recorded}", text, True,
                        boot_status, (note,))
    console = console_output(workspace, spec, instance_id)
    note = (f"{no_machine}, and nothing recorded {recorded}; below is the console output "
            "moto returns for every instance, a fixed sample that is not this environment's")
    return SetupLog(spec.name, instance_id, log, "console output (GetConsoleOutput)",
                    last_lines(console, lines), False, boot_status, (note,))


def read_console(workspace: Workspace, spec: EnvironmentSpec, status: EnvironmentStatus,
                 lines: int) -> SetupLog:
    """Return the last lines of the instance's console output, where the boot's steps log too."""
    instance_id = str(status.instance_id)
    text = last_lines(console_output(workspace, spec, instance_id), lines)
    notes: tuple[str, ...] = ()
    if workspace.sandbox_endpoint:
        notes = ("sandbox: moto returns the same fixed sample console output for every "
                 "instance; no machine booted",)
    return SetupLog(spec.name, instance_id, "console", "console output (GetConsoleOutput)",
                    text, bool(text), None, notes)


def console_output(workspace: Workspace, spec: EnvironmentSpec, instance_id: str) -> str:
    """Return the console output EC2 keeps for an instance, decoded; empty when it has none."""
    from botocore.exceptions import BotoCoreError, ClientError

    ec2 = workspace.client("ec2", spec.region, config=probe_config())
    try:
        # botocore decodes the base64 Output of GetConsoleOutput itself.
        response = ec2.get_console_output(InstanceId=instance_id)
    except (BotoCoreError, ClientError) as error:
        raise CloudError(f"{spec.name}: GetConsoleOutput for {instance_id} failed: {error}; "
                         "check the AWS credentials and region, or pass --sandbox") from None
    return str(response.get("Output") or "")
