"""Helpers for the scale and move tests: one applied environment, and a capacity proxy.

The proxy is a real HTTP server on 127.0.0.1 in front of moto. It answers a type change to a
type without capacity the way EC2 does (InsufficientInstanceCapacity), so a swap fails at
the cloud boundary while envctl, Terraform and the provider run unchanged.
"""

from __future__ import annotations

import http.client
import threading
import uuid
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3

from envctl.sandbox import Sandbox
from envctl.workspace import Workspace

HOST = "127.0.0.1"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
CAPACITY_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InsufficientInstanceCapacity</Code><Message>We currently do not \
have sufficient {instance_type} capacity in the Availability Zone you requested.</Message>\
</Error></Errors><RequestID>{request_id}</RequestID></Response>"""


def keep_only(root: Path, *names: str) -> None:
    """Delete every environment file of the project at root except names, to apply fewer."""
    for path in (root / "environments").glob("*.yaml"):
        if path.stem not in names:
            path.unlink()


def drop_secrets(root: Path, name: str) -> None:
    """Remove the secrets list from an environment file, so planning needs no Vault values."""
    from ruamel.yaml import YAML

    path = root / "environments" / f"{name}.yaml"
    yaml = YAML(typ="rt")
    data = yaml.load(path.read_text())
    data.pop("secrets", None)
    with path.open("w") as handle:
        yaml.dump(data, handle)


def instance_of(workspace: Workspace, name: str) -> dict[str, Any]:
    """The environment's live instance as DescribeInstances returns it."""
    spec = workspace.project.environment(name)
    ec2 = workspace.client("ec2", spec.region)
    filters = [{"Name": "tag:envctl:environment-id", "Values": [spec.id]},
               {"Name": "instance-state-name", "Values": ["pending", "running", "stopping",
                                                          "stopped"]}]
    reservations = ec2.describe_instances(Filters=filters)["Reservations"]
    instances = [item for reservation in reservations for item in reservation["Instances"]]
    assert len(instances) == 1, instances
    return dict(instances[0])


def volumes_of(workspace: Workspace, name: str) -> list[dict[str, Any]]:
    """Every volume tagged with the environment's id, data and retired ones alike."""
    spec = workspace.project.environment(name)
    filters = [{"Name": "tag:envctl:environment-id", "Values": [spec.id]}]
    ec2 = workspace.client("ec2", spec.region)
    return list(ec2.describe_volumes(Filters=filters)["Volumes"])


class TypeCapacityProxy:
    """An HTTP proxy on 127.0.0.1 in front of moto without capacity for some instance types.

    It answers ModifyInstanceAttribute to a type in no_capacity with HTTP 400
    InsufficientInstanceCapacity, and passes every other request to moto unchanged. EC2 sends
    capacity errors as HTTP 500; 400 keeps the provider from retrying for minutes.
    """

    def __init__(self, sandbox: Sandbox, no_capacity: set[str]) -> None:
        self.sandbox = sandbox
        self.no_capacity = no_capacity
        self.refused: list[str] = []
        self.server = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}"

    def sandbox_behind(self) -> Sandbox:
        """The sandbox as clients behind this proxy see it."""
        return replace(self.sandbox, aws_endpoint=self.url)

    def __enter__(self) -> TypeCapacityProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def refusal(self, params: dict[str, str]) -> bytes | None:
        """The capacity error for a type change to a type without capacity, else None."""
        wanted = params.get("InstanceType.Value")
        if params.get("Action") != "ModifyInstanceAttribute" or wanted not in self.no_capacity:
            return None
        self.refused.append(wanted)
        return CAPACITY_ERROR.format(instance_type=wanted, request_id=uuid.uuid4()).encode()


def _handler_for(proxy: TypeCapacityProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            return

        def relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            params = dict(parse_qsl(body.decode("utf-8", errors="replace")))
            refusal = proxy.refusal(params)
            if refusal is not None:
                self.answer(400, {"Content-Type": "text/xml"}, refusal)
                return
            upstream = urlsplit(proxy.sandbox.aws_endpoint)
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
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


def ec2_client(sandbox: Sandbox, region: str = "us-east-1") -> Any:
    return boto3.client("ec2", **sandbox.client_settings(region))
