"""The instance: replaceable, swappable; nothing on it that must survive lives off the volume."""

from __future__ import annotations

from cdktn_provider_aws.instance import Instance
from constructs import Construct

from envctl.definitions.spec import EnvironmentSpec
from envctl.resources import instance_settings


class DevInstance(Construct):
    """The EC2 instance: IMDSv2 only, encrypted root disk, stops (never terminates) on poweroff."""

    def __init__(self, scope: Construct, construct_id: str, spec: EnvironmentSpec, ami: str,
                 security_group_id: str, user_data_base64: str | None = None) -> None:
        super().__init__(scope, construct_id)
        settings = instance_settings(spec, ami)
        self.instance = Instance(
            scope,
            "instance",
            vpc_security_group_ids=[security_group_id],
            user_data_base64=user_data_base64,
            **settings,
        )
