"""The synthesized stack: the DLM policy, its role and the volume's snapshot_id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from backups_support import BACKUP_ENVIRONMENT

from envctl.definitions.project import StateSettings


@pytest.fixture
def synth_stack(tmp_path: Path):
    """Synthesize one EnvironmentStack and return its Terraform JSON as a dict."""
    from cdktn import Testing

    from envctl.cdk.stack import EnvironmentStack, StackOptions

    def synth(spec, **overrides):
        options = StackOptions(state=StateSettings(), state_dir=tmp_path / "state",
                               provider_version=">= 3.39.0, < 7.0.0", **overrides)
        return json.loads(Testing.synth(EnvironmentStack(Testing.app(), spec, options)))

    return synth


def resources(stack, resource_type):
    return stack.get("resource", {}).get(resource_type, {})


def test_schedule_adds_policy_role_and_attachment(backup_spec, synth_stack):
    stack = synth_stack(backup_spec())

    policy = resources(stack, "aws_dlm_lifecycle_policy")["backup_policy"]
    role = resources(stack, "aws_iam_role")["backup_role"]
    attachment = resources(stack, "aws_iam_role_policy_attachment")["backup_role_policy"]

    assert policy["execution_role_arn"] == "${aws_iam_role.backup_role.arn}"
    assert policy["depends_on"] == ["aws_iam_role_policy_attachment.backup_role_policy"]
    assert policy["policy_details"]["schedule"][0]["retain_rule"] == {"count": 14}
    assert policy["policy_details"]["target_tags"] == {"envctl:environment-id": "env-b4c0ffee"}
    assert role["name"] == "envctl-env-b4c0ffee-backup"
    assert attachment["role"] == "${aws_iam_role.backup_role.name}"
    assert attachment["policy_arn"] == ("arn:${data.aws_partition.partition.partition}:iam::aws:"
                                        "policy/service-role/AWSDataLifecycleManagerServiceRole")


def test_sandbox_leaves_policy_out(backup_spec, synth_stack):
    stack = synth_stack(backup_spec(), sandbox=True)

    assert resources(stack, "aws_dlm_lifecycle_policy") == {}
    assert resources(stack, "aws_iam_role") == {}
    assert "aws_partition" not in stack.get("data", {})


def test_sandbox_keeps_policy_when_asked(backup_spec, synth_stack):
    stack = synth_stack(backup_spec(), sandbox=True, backup_policy=True)

    assert list(resources(stack, "aws_dlm_lifecycle_policy")) == ["backup_policy"]


def test_no_backup_block_no_policy(backup_spec, synth_stack):
    stack = synth_stack(backup_spec(BACKUP_ENVIRONMENT.split("backup:")[0]))

    assert resources(stack, "aws_dlm_lifecycle_policy") == {}
    assert resources(stack, "aws_iam_role") == {}


def test_volume_declares_snapshot_id(backup_spec, synth_stack):
    text = BACKUP_ENVIRONMENT.replace("  size_gb: 20\n",
                                      "  size_gb: 20\n  snapshot_id: snap-0123456789abcdef0\n")

    volume = resources(synth_stack(backup_spec(text)), "aws_ebs_volume")["data_volume"]

    assert volume["snapshot_id"] == "snap-0123456789abcdef0"


def test_volume_without_snapshot_id(backup_spec, synth_stack):
    volume = resources(synth_stack(backup_spec()), "aws_ebs_volume")["data_volume"]

    assert "snapshot_id" not in volume
