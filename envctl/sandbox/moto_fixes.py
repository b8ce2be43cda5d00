"""Fixes for moto behaviour that differs from EC2 in ways the AWS provider trips over.

Each fix is applied to the sandbox's own moto process only, and each names the call it mends.
"""

from __future__ import annotations

from typing import Any

from envctl.sandbox.moto_quotas import serve_ec2_quotas


def apply_moto_fixes() -> None:
    """Patch moto's EC2 responses in this process; call before serving requests."""
    _fix_shutdown_behavior_modify()
    _keep_public_addresses_on_loopback()
    serve_ec2_quotas()


def _fix_shutdown_behavior_modify() -> None:
    """ModifyInstanceAttribute with InstanceInitiatedShutdownBehavior.Value.

    moto 5.2 has no handler for that parameter, so the request falls through to its
    security-group handler, which replaces the instance's groups with an empty list. The AWS
    provider sends exactly that call after RunInstances, and the next plan then wants to add
    the security group back: a perpetual diff that real EC2 does not show.
    """
    from moto.ec2.responses.instances import InstanceResponse

    groups_handler = InstanceResponse._security_grp_instance_attribute_handler

    def handler(self: Any) -> bool:
        value = self._get_param("InstanceInitiatedShutdownBehavior.Value")
        if value is None:
            return bool(groups_handler(self))
        self.ec2_backend.modify_instance_attribute(
            self._get_param("InstanceId"), "instance_initiated_shutdown_behavior", value
        )
        return True

    InstanceResponse._security_grp_instance_attribute_handler = handler  # type: ignore[method-assign]


def _keep_public_addresses_on_loopback() -> None:
    """Public IPv4 addresses of instances (network interfaces).

    moto makes them up in 54.214.0.0/16, which belongs to real AWS customers, so `envctl ssh`,
    `open` or `secrets deliver` in the sandbox would aim at a stranger's machine. The sandbox
    hands out addresses in 127.0.0.0/8 instead, where nothing leaves this computer.
    """
    import random

    from moto.ec2.models import elastic_network_interfaces

    def loopback_public_ip() -> str:
        # 127.0.0.0/24 is left out, so no address lands on a service bound to 127.0.0.1.
        octets = (random.randrange(64, 250), random.randrange(256), random.randrange(1, 255))
        return "127.{}.{}.{}".format(*octets)

    elastic_network_interfaces.random_public_ip = loopback_public_ip  # type: ignore[attr-defined]
