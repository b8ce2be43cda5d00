"""The snapshot schedule: a Data Lifecycle Manager policy and the IAM role it runs as."""

from __future__ import annotations

from cdktn_provider_aws.dlm_lifecycle_policy import (
    DlmLifecyclePolicy,
    DlmLifecyclePolicyPolicyDetailsSchedule,
)
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from envctl.backups.policy import (
    DLM_MANAGED_POLICY,
    backup_policy_settings,
    backup_role_settings,
)
from envctl.definitions.spec import EnvironmentSpec


class SnapshotSchedule(Construct):
    """Snapshots of the data volume on the spec's schedule, found by the environment-id tag."""

    def __init__(self, scope: Construct, construct_id: str, spec: EnvironmentSpec,
                 partition: str) -> None:
        super().__init__(scope, construct_id)
        # The managed policy's ARN differs by partition (aws, aws-cn, aws-us-gov).
        self.role = IamRole(scope, "backup_role", **backup_role_settings(spec))
        permissions = IamRolePolicyAttachment(
            scope,
            "backup_role_policy",
            role=self.role.name,
            policy_arn=f"arn:{partition}:iam::aws:{DLM_MANAGED_POLICY}",
        )
        settings = backup_policy_settings(spec)
        details = settings.pop("policy_details")
        # jsii converts nested dicts to structs, but not dicts inside a list.
        schedules = [DlmLifecyclePolicyPolicyDetailsSchedule(**item)
                     for item in details.pop("schedule")]
        self.policy = DlmLifecyclePolicy(
            scope,
            "backup_policy",
            execution_role_arn=self.role.arn,
            # DLM checks the role when the policy is created, so its permissions come first.
            depends_on=[permissions],
            policy_details={**details, "schedule": schedules},
            **settings,
        )
