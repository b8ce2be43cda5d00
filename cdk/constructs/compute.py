"""The instance: replaceable, swappable; nothing on it that must survive lives off the volume."""

from __future__ import annotations

from cdktn import DataResource, Fn
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
        if user_data_base64 is not None:
            self._replace_with_user_data(scope, user_data_base64)

    def _replace_with_user_data(self, scope: Construct, user_data_base64: str) -> None:
        """Replace the instance whenever its user data changes, on every provider version.

        cloud-init runs user data once per instance, so a new boot script (a setup change, a
        restored volume's id) takes effect only on a new instance. hashicorp/aws 3.x replaces
        the instance on such a change by itself; 4.x and later update it in place and restart
        it, unless an argument that 3.x lacks is set. A terraform_data resource
        whose trigger is the user data's hash works on both.
        """
        boot = DataResource(scope, "boot",
                            triggers_replace={"user_data_sha256": Fn.sha256(user_data_base64)})
        # Terraform's JSON syntax takes a bare address here, not a ${...} template.
        self.instance.add_override("lifecycle.replace_triggered_by",
                                   [f"{boot.terraform_resource_type}.{boot.friendly_unique_id}"])
