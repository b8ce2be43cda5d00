"""The snapshot schedule as pure settings: the Data Lifecycle Manager policy and its IAM role.

Everything here must plan on hashicorp/aws 3.39.0 and on 6.x. Provider 3.39 retains by count
only, so retain.days becomes the count the schedule makes in that many days.
"""

from __future__ import annotations

from typing import Any

from envctl.backups.tags import ENVIRONMENT_TAG, KIND_TAG
from envctl.definitions.models import BackupScheduleSpec
from envctl.definitions.spec import EnvironmentSpec
from envctl.resources import base_tags, service_role_trust

POLICY_TYPE = "aws_dlm_lifecycle_policy"
VOLUME_TYPE = "aws_ebs_volume"
# The AWS managed policy that grants DLM the EC2 snapshot calls it makes for EBS policies.
DLM_MANAGED_POLICY = "policy/service-role/AWSDataLifecycleManagerServiceRole"
SANDBOX_NOTE = "policy left out: the sandbox has no Data Lifecycle Manager API"


def policy_included(spec: EnvironmentSpec, sandbox: bool, requested: bool | None) -> bool:
    """Decide whether a stack gets the policy: when the spec has a schedule and, unless the
    caller asks explicitly, outside the sandbox."""
    if spec.backup is None or spec.backup.schedule is None:
        return False
    # NOTE: moto has no DLM API, so a sandbox apply would fail on the policy. Sandbox stacks
    # leave it out, and tests check it through `terraform validate` and the plan JSON.
    return requested if requested is not None else not sandbox


def backup_role_settings(spec: EnvironmentSpec) -> dict[str, Any]:
    """Arguments of the aws_iam_role that DLM assumes to snapshot this environment's volume."""
    return {
        "name": f"envctl-{spec.id}-backup",
        "description": f"Data Lifecycle Manager snapshots of envctl environment {spec.id}",
        "assume_role_policy": service_role_trust("dlm.amazonaws.com"),
        "tags": base_tags(spec),
    }


def backup_policy_settings(spec: EnvironmentSpec) -> dict[str, Any]:
    """Arguments of the aws_dlm_lifecycle_policy, apart from the role's ARN.

    The policy targets volumes tagged with the environment id, which only the data volume
    carries: the root disk is untagged, and a restore retags the volume it detaches. DLM
    accepts only letters, digits, spaces, '_' and '-' in the description and schedule name.
    """
    backup = spec.backup
    if backup is None or backup.schedule is None:
        raise ValueError(f"{spec.name} has no backup schedule")
    schedule = backup.schedule
    return {
        "description": f"envctl backups of {spec.name} {spec.id}",
        "state": "ENABLED",
        "policy_details": {
            "resource_types": ["VOLUME"],
            "target_tags": {ENVIRONMENT_TAG: spec.id},
            "schedule": [{
                # Fixed, because DLM stops managing snapshots made under an old name.
                "name": "envctl scheduled snapshots",
                "copy_tags": True,
                "tags_to_add": {KIND_TAG: "scheduled"},
                "create_rule": {
                    "interval": schedule.interval_hours,
                    "interval_unit": "HOURS",
                    "times": [schedule.at],
                },
                "retain_rule": {"count": backup.retained_count},
            }],
        },
        "tags": base_tags(spec),
    }


def describe_schedule(schedule: BackupScheduleSpec) -> str:
    if schedule.interval_hours == 24:
        return f"daily at {schedule.at} UTC"
    return f"every {schedule.interval_hours}h from {schedule.at} UTC"


def backup_summary(spec: EnvironmentSpec, plan: dict[str, Any], destroy: bool) -> str | None:
    """Describe the backup settings in one line for the plan summary.

    plan is Terraform's plan JSON. When the spec has a schedule but the plan has no policy,
    the stack left it out, which happens only in the sandbox.
    """
    backup = spec.backup
    if backup is None:
        return None
    if destroy:
        return _destroy_summary(spec, plan)
    parts = []
    if backup.schedule is not None:
        parts.append(f"snapshots {describe_schedule(backup.schedule)}, keep the newest "
                     f"{backup.retained_count}")
        if not _actions(plan, POLICY_TYPE):
            parts.append(SANDBOX_NOTE)
    if backup.final_snapshot:
        parts.append("final snapshot before the volume is deleted")
    return "; ".join(parts) or None


def _destroy_summary(spec: EnvironmentSpec, plan: dict[str, Any]) -> str | None:
    parts = []
    if "delete" in _actions(plan, POLICY_TYPE):
        # Deleting a DLM policy keeps the snapshots it made (Amazon EBS user guide).
        parts.append("the snapshot schedule stops; its snapshots stay")
    if spec.backup and spec.backup.final_snapshot and "delete" in _actions(plan, VOLUME_TYPE):
        parts.append("a final snapshot is taken before the volume is deleted")
    return "; ".join(parts) or None


def _actions(plan: dict[str, Any], resource_type: str) -> set[str]:
    """Collect the actions the plan takes on resources of a type. no-op counts, so an empty
    set means the plan has no such resource at all."""
    return {action for change in plan.get("resource_changes", [])
            if change.get("type") == resource_type
            for action in change.get("change", {}).get("actions", [])}
