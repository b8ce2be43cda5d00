"""Helpers for lifecycle tests: a copy of the examples, instances launched with boto3 on moto,
and a capacity proxy in front of moto.

Instances here are made with RunInstances, not Terraform, so these tests take seconds. The e2e
tests in this folder cover the same commands on applied stacks.
"""

from __future__ import annotations

import http.client
import os
import shutil
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3

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


def ec2_client(sandbox: Sandbox, region: str = "us-east-1") -> Any:
    return boto3.client("ec2", **sandbox.client_settings(region))


@dataclass(frozen=True)
class Launched:
    instance_id: str
    volume_id: str


def launch(sandbox: Sandbox, spec: EnvironmentSpec, instance_type: str | None = None,
           stopped: bool = False) -> Launched:
    """Create the environment's instance and data volume directly with boto3, tagged as
    envctl tags them."""
    ec2 = ec2_client(sandbox, spec.region)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tags = [{"Key": "envctl:environment-id", "Value": spec.id},
            {"Key": "Name", "Value": spec.name}]
    reservation = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1,
        InstanceType=instance_type or spec.instance_type,
        Placement={"AvailabilityZone": spec.availability_zone},
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
    instance_id = reservation["Instances"][0]["InstanceId"]
    volume_id = ec2.create_volume(AvailabilityZone=spec.availability_zone,
                                  Size=spec.volume.size_gb)["VolumeId"]
    ec2.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdf")
    if stopped:
        ec2.stop_instances(InstanceIds=[instance_id])
    return Launched(instance_id, volume_id)


def describe(sandbox: Sandbox, instance_id: str) -> dict[str, Any]:
    reservations = ec2_client(sandbox).describe_instances(InstanceIds=[instance_id])
    return dict(reservations["Reservations"][0]["Instances"][0])


CAPACITY_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InsufficientInstanceCapacity</Code><Message>We currently do not \
have sufficient {instance_type} capacity in the Availability Zone you requested \
({zone}).</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"""

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class CapacityProxy:
    """An HTTP proxy on 127.0.0.1 in front of moto.

    It returns HTTP 500 InsufficientInstanceCapacity for StartInstances, as EC2 does, while
    the instance's type is in no_capacity, and passes every other request to moto unchanged.
    It records each request's Action and User-Agent.
    """

    def __init__(self, sandbox: Sandbox, no_capacity: set[str] | None = None) -> None:
        self.sandbox = sandbox
        self.no_capacity = no_capacity or set()
        self.requests: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}"

    def sandbox_behind(self) -> Sandbox:
        """The sandbox as clients behind this proxy see it."""
        return Sandbox(self.url, self.sandbox.vault_address, self.sandbox.vault_token)

    def actions(self) -> list[str]:
        return [action for action, _ in self.requests]

    def __enter__(self) -> CapacityProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def refusal(self, params: list[tuple[str, str]]) -> bytes | None:
        """The capacity error for a StartInstances request, or None to pass it on."""
        ids = [value for key, value in params if key.startswith("InstanceId.")]
        for instance_id in ids:
            instance = describe(self.sandbox, instance_id)
            if instance["InstanceType"] in self.no_capacity:
                return CAPACITY_ERROR.format(
                    instance_type=instance["InstanceType"],
                    zone=instance["Placement"]["AvailabilityZone"],
                    request_id=uuid.uuid4()).encode()
        return None


def _handler_for(proxy: CapacityProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            return

        def relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            params = parse_qsl(body.decode("utf-8", errors="replace"))
            action = dict(params).get("Action", "")
            proxy.requests.append((action, self.headers.get("User-Agent", "")))
            refusal = proxy.refusal(params) if action == "StartInstances" else None
            if refusal is not None:
                self.answer(500, {"Content-Type": "text/xml"}, refusal)
                return
            upstream = urlsplit(proxy.sandbox.aws_endpoint)
            connection = http.client.HTTPConnection(str(upstream.hostname), upstream.port,
                                                    timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
            connection.close()
            self.answer(response.status, kept, payload)

        def answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = relay

    return Handler


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
