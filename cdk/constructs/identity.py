"""The box's identity: an IAM role, through an instance profile, that may set one tag only."""

from __future__ import annotations

from cdktn_provider_aws.iam_instance_profile import IamInstanceProfile
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from envctl.definitions.spec import EnvironmentSpec
from envctl.resources import (
    box_profile_settings,
    box_role_policy_settings,
    box_role_settings,
)


class BoxRole(Construct):
    """The role the autostop agent signs CreateTags with, to report the box's last activity."""

    def __init__(self, scope: Construct, construct_id: str, spec: EnvironmentSpec,
                 partition: str) -> None:
        super().__init__(scope, construct_id)
        self.role = IamRole(scope, "box_role", **box_role_settings(spec))
        self.policy = IamRolePolicy(scope, "box_role_policy", role=self.role.name,
                                    **box_role_policy_settings(spec, partition))
        self.profile = IamInstanceProfile(scope, "box_profile", role=self.role.name,
                                          **box_profile_settings(spec))
