"""A proxy in front of moto that fails launches as EC2 does when a zone has no capacity.

moto launches any type anywhere, so the capacity fallback needs the error injected where AWS
would produce it: on the wire, between envctl (boto3 and Terraform's AWS provider) and the
cloud. Every request goes to moto unchanged, except RunInstances and StartInstances for a type
in `no_capacity`, which get EC2's InsufficientInstanceCapacity error instead.
"""

from __future__ import annotations

import http.client
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
# Hop-by-hop headers and the ones the proxy sets itself.
SKIPPED_HEADERS = {"host", "connection", "keep-alive", "transfer-encoding", "content-length",
                   "proxy-connection"}

ERROR_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InsufficientInstanceCapacity</Code><Message>We currently do not \
have sufficient {instance_type} capacity in the Availability Zone you requested ({zone}). Our \
system will be working on provisioning additional capacity. You can currently get \
{instance_type} capacity by not specifying an Availability Zone in your request or choosing \
a different Availability Zone.</Message></Error></Errors><RequestID>{request_id}</RequestID>\
</Response>"""


class CapacityProxy:
    """Forward HTTP to moto on 127.0.0.1, except launches of the types in no_capacity.

    status is the HTTP status of the rejection. EC2 sends 500, but hashicorp/aws before 3.63
    retries a 500 from RunInstances with backoff for up to an hour
    (hashicorp/terraform-provider-aws#21293), so the Terraform tests send 400, which the
    provider reports at once with the same error code and message.
    """

    def __init__(self, upstream: str, status: int = 500):
        self.upstream = urlsplit(upstream)
        self.status = status
        self.no_capacity: set[str] = set()
        self.rejected: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer((HOST, 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}"

    def start(self) -> CapacityProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def rejection(self, body: bytes, content_type: str) -> tuple[str, str, str] | None:
        """Return the action, instance type and zone to reject, or None to forward the request."""
        if "x-www-form-urlencoded" not in content_type:
            return None
        form = parse_qs(body.decode("utf-8", "replace"))
        action = form.get("Action", [""])[0]
        if action == "RunInstances":
            requested = form.get("InstanceType", [""])[0]
            zone = form.get("Placement.AvailabilityZone", ["the zone you requested"])[0]
            return (action, requested, zone) if requested in self.no_capacity else None
        if action == "StartInstances":
            ids = [values[0] for key, values in form.items() if key.startswith("InstanceId.")]
            for kind, zone in self._placements(ids):
                if kind in self.no_capacity:
                    return action, kind, zone
        return None

    def _placements(self, instance_ids: list[str]) -> list[tuple[str, str]]:
        """The type and zone of each instance, as moto describes it."""
        import boto3

        ec2 = boto3.client("ec2", endpoint_url=self.upstream.geturl(), region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        reservations = ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
        return [(instance["InstanceType"], instance["Placement"]["AvailabilityZone"])
                for reservation in reservations for instance in reservation["Instances"]]

    def forward(self, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(str(self.upstream.hostname),
                                                self.upstream.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rejected = proxy.rejection(body, self.headers.get("Content-Type", ""))
                if rejected is not None:
                    action, instance_type, zone = rejected
                    proxy.rejected.append((action, instance_type))
                    self._send(proxy.status, [("Content-Type", "text/xml")],
                               ERROR_XML.format(instance_type=instance_type, zone=zone,
                                                request_id=uuid.uuid4()).encode())
                    return
                headers = {key: value for key, value in self.headers.items()
                           if key.lower() not in SKIPPED_HEADERS}
                status, response_headers, payload = proxy.forward(self.command, self.path,
                                                                  headers, body)
                self._send(status, [(key, value) for key, value in response_headers
                                    if key.lower() not in SKIPPED_HEADERS], payload)

            def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet: pytest shows failures, not every request."""

        return Handler
