"""SSH access: the owner's public key as an EC2 key pair that the instance boots with."""

from __future__ import annotations

from cdktn_provider_aws.key_pair import KeyPair
from constructs import Construct

from envctl.definitions.spec import EnvironmentSpec
from envctl.resources import base_tags


def key_pair_name(spec: EnvironmentSpec) -> str:
    """Name the key pair after the immutable id, so a rename leaves it in place."""
    return f"envctl-{spec.id}"


class SshKeyPair(Construct):
    """The owner's public key. Changing the key replaces the key pair, not the instance, and
    a running instance keeps the keys it booted with."""

    def __init__(self, scope: Construct, construct_id: str, spec: EnvironmentSpec,
                 public_key: str) -> None:
        super().__init__(scope, construct_id)
        self.key_pair = KeyPair(scope, "ssh_key", key_name=key_pair_name(spec),
                                public_key=public_key, tags=base_tags(spec))
