"""A relay in front of moto that fails launches as EC2 does when a zone has no capacity.

moto launches any type anywhere, so the capacity fallback needs the error injected where AWS
would produce it: on the wire, between envctl (boto3 and Terraform's AWS provider) and the
cloud. Every request goes to moto unchanged, except RunInstances and StartInstances for a type
in `no_capacity`, which get EC2's InsufficientInstanceCapacity error instead.
"""

from __future__ import annotations

from moto_proxy import (
    MotoProxy,
    Rejection,
    Request,
    instance_ids,
    insufficient_capacity,
    placements,
)

from envctl.sandbox import Sandbox


class CapacityProxy(MotoProxy):
    """Forward HTTP to moto on 127.0.0.1, except launches of the types in no_capacity.

    status is the HTTP status of the rejection. EC2 sends 500, but hashicorp/aws before 3.63
    retries a 500 from RunInstances with backoff for up to an hour
    (hashicorp/terraform-provider-aws#21293), so the Terraform tests send 400, which the
    provider reports at once with the same error code and message. Each rejection is recorded
    as its action and instance type.
    """

    def __init__(self, sandbox: Sandbox, status: int = 500) -> None:
        super().__init__(sandbox)
        self.status = status
        self.no_capacity: set[str] = set()
        self.rejected: list[tuple[str, str]] = []

    def reject(self, request: Request) -> Rejection | None:
        if "x-www-form-urlencoded" not in request.header("Content-Type"):
            return None
        launch = self.launch_without_capacity(request)
        if launch is None:
            return None
        instance_type, zone = launch
        self.rejected.append((request.action, instance_type))
        return insufficient_capacity(self.status, instance_type, zone)

    def launch_without_capacity(self, request: Request) -> tuple[str, str] | None:
        """Return the instance type and zone of a launch to reject, or None to forward it."""
        if request.action == "RunInstances":
            requested = request.params.get("InstanceType", "")
            zone = request.params.get("Placement.AvailabilityZone", "the zone you requested")
            return (requested, zone) if requested in self.no_capacity else None
        if request.action == "StartInstances":
            for instance_type, zone in placements(self.sandbox, instance_ids(request)):
                if instance_type in self.no_capacity:
                    return instance_type, zone
        return None
