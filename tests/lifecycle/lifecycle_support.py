"""Helpers for lifecycle tests: a copy of the examples, instances launched with boto3 on moto,
and a capacity proxy in front of moto.

Instances here are made with RunInstances, not Terraform, so these tests take seconds. The e2e
tests in this folder cover the same commands on applied stacks.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from moto_instances import describe as describe  # the lifecycle tests import it from here
from moto_instances import ec2_client, run_instance
from moto_proxy import (
    MotoProxy,
    Rejection,
    Request,
    instance_ids,
    insufficient_capacity,
    placements,
)

from envctl.definitions.spec import EnvironmentSpec
from envctl.sandbox import Sandbox
from envctl.sandbox.record import write_record

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HOST = "127.0.0.1"


def copy_examples(target: Path) -> Path:
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns(".envctl", "cdktf.out"))
    return target


def attach_sandbox(root: Path, sandbox: Sandbox) -> None:
    """Record the session's sandbox under root, so `envctl --sandbox` there finds it."""
    write_record(root, sandbox)


@dataclass(frozen=True)
class Launched:
    instance_id: str
    volume_id: str


def launch(sandbox: Sandbox, spec: EnvironmentSpec, instance_type: str | None = None,
           stopped: bool = False) -> Launched:
    """Create the environment's instance and data volume directly with boto3, tagged as
    envctl tags them."""
    ec2 = ec2_client(sandbox, spec.region)
    instance_id = run_instance(sandbox, spec, instance_type)
    volume_id = ec2.create_volume(AvailabilityZone=spec.availability_zone,
                                  Size=spec.volume.size_gb)["VolumeId"]
    ec2.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdf")
    if stopped:
        ec2.stop_instances(InstanceIds=[instance_id])
    return Launched(instance_id, volume_id)


class CapacityProxy(MotoProxy):
    """A relay in front of moto without capacity to start some instance types.

    It returns HTTP 500 InsufficientInstanceCapacity for StartInstances, as EC2 does, while
    the instance's type is in no_capacity. It records each request's Action and User-Agent.
    """

    def __init__(self, sandbox: Sandbox, no_capacity: set[str] | None = None) -> None:
        super().__init__(sandbox)
        self.no_capacity = no_capacity or set()
        self.requests: list[tuple[str, str]] = []

    def actions(self) -> list[str]:
        return [action for action, _ in self.requests]

    def reject(self, request: Request) -> Rejection | None:
        self.requests.append((request.action, request.header("User-Agent")))
        if request.action != "StartInstances":
            return None
        for instance_type, zone in placements(self.sandbox, instance_ids(request)):
            if instance_type in self.no_capacity:
                return insufficient_capacity(500, instance_type, zone)
        return None


def aim_project_at(root: Path, endpoint: str) -> dict[str, str | None]:
    """Point the project's EC2 endpoint at endpoint (envctl.yaml aws.endpoints), for commands
    run without --sandbox; return the environment for CliRunner (None unsets a variable)."""
    settings = root / "envctl.yaml"
    settings.write_text(settings.read_text() + f"\naws:\n  endpoints:\n    ec2: {endpoint}\n")
    return {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(root / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-aws-credentials"),
        "AWS_PROFILE": None,
        "ENVCTL_SANDBOX": None,
    }


# OpenSSH's server; ENVCTL_TEST_SSHD names another copy (an absolute path, as sshd requires).
SSHD = Path(os.environ.get("ENVCTL_TEST_SSHD", "/usr/sbin/sshd"))
RECORDER = """\
#!/bin/sh
session="{folder}/sessions/$$"
mkdir -p "$session"
printf '%s' "$SSH_ORIGINAL_COMMAND" > "$session/command"
printf '%s' "${{ENVCTL_PROBE-unset}}" > "$session/probe"
echo 1796403600
"""
SSHD_CONFIG = """\
ListenAddress {host}
Port {port}
HostKey {folder}/host_key
PidFile {folder}/sshd.pid
AuthorizedKeysFile {folder}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AcceptEnv ENVCTL_PROBE
ForceCommand /bin/sh {folder}/recorder.sh
"""


def sshd_missing() -> str | None:
    """Why RecordingSshServer cannot run here, or None when it can.

    sshd started as root needs its privilege separation user and /run/sshd.
    """
    import pwd
    import shutil

    if not SSHD.exists() or shutil.which("ssh") is None:
        return f"needs OpenSSH's {SSHD} (or ENVCTL_TEST_SSHD) and ssh"
    if os.geteuid() != 0:
        return "needs root, to log in as root on the recording sshd"
    try:
        pwd.getpwnam("sshd")
    except KeyError:
        return "needs sshd's privilege separation user, sshd"
    return None if os.path.isdir("/run/sshd") else "needs /run/sshd"


class RecordingSshServer:
    """OpenSSH's sshd on 127.0.0.1 that records each session instead of running its command.

    Each session leaves sessions/<pid>/command (the command the client sent) and probe (the
    ENVCTL_PROBE value it set, or 'unset'), and prints a fixed expiry as the lease command does.
    """

    def __init__(self, folder: Path) -> None:
        import socket
        import subprocess

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for key in ("host_key", "client_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                            str(folder / key)], check=True)
        (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
        (folder / "recorder.sh").write_text(RECORDER.format(folder=folder))
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            self.port = probe.getsockname()[1]
        (folder / "sshd_config").write_text(SSHD_CONFIG.format(host=HOST, port=self.port,
                                                              folder=folder))
        self.process: subprocess.Popen[bytes] | None = None

    def client_options(self) -> list[str]:
        return [f"Port={self.port}", "User=root", f"IdentityFile={self.folder}/client_key",
                f"UserKnownHostsFile={self.folder}/known_hosts",
                "StrictHostKeyChecking=accept-new"]

    def sessions(self) -> list[dict[str, str]]:
        found = []
        for session in sorted((self.folder / "sessions").glob("*")):
            found.append({part: (session / part).read_text() for part in ("command", "probe")})
        return found

    def __enter__(self) -> RecordingSshServer:
        import socket
        import subprocess
        import time

        log = (self.folder / "sshd.log").open("wb")
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.folder / "sshd_config")],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.folder / 'sshd.log').read_text()}")
            with socket.socket() as connection:
                if connection.connect_ex((HOST, self.port)) == 0:
                    return self
            time.sleep(0.1)
        raise RuntimeError("sshd did not start listening within 20 s")

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
