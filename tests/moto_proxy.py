"""An HTTP relay on 127.0.0.1 in front of moto that injects EC2 errors on the wire.

moto accepts every request, so a test that needs AWS to fail (no capacity for a type) puts
this relay between envctl (boto3 or Terraform's AWS provider) and moto. Every request goes to
moto unchanged, except those for which the subclass's `reject` returns an error to send instead.
"""

from __future__ import annotations

import http.client
import threading
import uuid
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qsl, urlsplit

import boto3

from envctl.sandbox import Sandbox

HOST = "127.0.0.1"
# Hop-by-hop headers and the ones the relay sets itself.
SKIPPED_HEADERS = {"host", "connection", "keep-alive", "transfer-encoding", "content-length",
                   "proxy-connection"}
# The error document of EC2's query API, and the wording of EC2's InsufficientInstanceCapacity.
EC2_ERROR_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>\
<RequestID>{request_id}</RequestID></Response>"""
CAPACITY_MESSAGE = (
    "We currently do not have sufficient {instance_type} capacity in the Availability Zone "
    "you requested ({zone}). Our system will be working on provisioning additional capacity. "
    "You can currently get {instance_type} capacity by not specifying an Availability Zone "
    "in your request or choosing a different Availability Zone.")


@dataclass(frozen=True)
class Request:
    """One request as the relay received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def params(self) -> dict[str, str]:
        """The form fields of an EC2 query API request; empty for other bodies."""
        return dict(parse_qsl(self.body.decode("utf-8", errors="replace")))

    @property
    def action(self) -> str:
        return self.params.get("Action", "")

    def header(self, name: str) -> str:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), "")


class Rejection(NamedTuple):
    """The HTTP status and XML body the relay sends in place of moto's response."""

    status: int
    body: bytes


def insufficient_capacity(status: int, instance_type: str, zone: str) -> Rejection:
    """EC2's InsufficientInstanceCapacity error for instance_type in zone."""
    message = CAPACITY_MESSAGE.format(instance_type=instance_type, zone=zone)
    body = EC2_ERROR_XML.format(code="InsufficientInstanceCapacity", message=message,
                                request_id=uuid.uuid4())
    return Rejection(status, body.encode())


def placements(sandbox: Sandbox, instance_ids: list[str]) -> list[tuple[str, str]]:
    """Return the type and zone of each instance, as the sandbox's moto describes it."""
    ec2 = boto3.client("ec2", **sandbox.client_settings())
    reservations = ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
    return [(instance["InstanceType"], instance["Placement"]["AvailabilityZone"])
            for reservation in reservations for instance in reservation["Instances"]]


def instance_ids(request: Request) -> list[str]:
    """The InstanceId.N fields of a query API request, in order."""
    return [value for key, value in request.params.items() if key.startswith("InstanceId.")]


class MotoProxy:
    """Relay HTTP on 127.0.0.1 to the sandbox's moto; subclasses override `reject`.

    Use it as a context manager, or call start() and stop().
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._server = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}"

    def sandbox_behind(self) -> Sandbox:
        """Return the sandbox as clients behind this relay see it."""
        return replace(self.sandbox, aws_endpoint=self.url)

    def reject(self, request: Request) -> Rejection | None:
        """Return the error to send for request, or None to forward it to moto."""
        return None

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def forward(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send request to moto; return its status, headers and body."""
        upstream = urlsplit(self.sandbox.aws_endpoint)
        connection = http.client.HTTPConnection(str(upstream.hostname), upstream.port,
                                                timeout=120)
        headers = {key: value for key, value in request.headers.items()
                   if key.lower() not in SKIPPED_HEADERS}
        try:
            connection.request(request.method, request.path, body=request.body,
                               headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


def _handler_for(proxy: MotoProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, self.path, dict(self.headers.items()),
                              self.rfile.read(length) if length else b"")
            rejection = proxy.reject(request)
            if rejection is not None:
                self.send(rejection.status, [("Content-Type", "text/xml")], rejection.body)
                return
            status, headers, payload = proxy.forward(request)
            self.send(status, [(key, value) for key, value in headers
                               if key.lower() not in SKIPPED_HEADERS], payload)

        def send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = relay

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            """Stay quiet: pytest shows failures, not every request."""

    return Handler
