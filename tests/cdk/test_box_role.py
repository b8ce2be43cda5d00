"""The box's role: present exactly when the agent reports activity, and limited to one tag."""

from __future__ import annotations

import json

import pytest
from tests_support import GOOD_ENVIRONMENT

from envctl.resources import (
    LAST_ACTIVITY_TAG,
    box_role_included,
    box_role_name,
    box_role_policy_settings,
)

BOX_TYPES = ("aws_iam_role", "aws_iam_role_policy", "aws_iam_instance_profile")
NO_AUTOSTOP = GOOD_ENVIRONMENT.replace("autostop:\n  idle_minutes: 45\n",
                                       "autostop:\n  idle_minutes: null\n")
WITH_BACKUP = GOOD_ENVIRONMENT + "backup:\n  schedule:\n    every: 12h\n    at: \"04:30\"\n"
PARTITION = "${data.aws_partition.partition.partition}"
# An environment id of the maximum length the definition format accepts: env- and 32 hex digits.
MAX_LENGTH_ID = "env-" + "0123456789abcdef" * 2


def resources(stack, resource_type):
    return stack.get("resource", {}).get(resource_type, {})


def statement_of(policy):
    statements = json.loads(policy)["Statement"]
    assert len(statements) == 1, statements
    return statements[0]


def test_role_policy_and_profile_when_reporting(spec_from, synth_stack):
    stack = synth_stack(spec_from(), report_activity=True)

    role = resources(stack, "aws_iam_role")["box_role"]
    policy = resources(stack, "aws_iam_role_policy")["box_role_policy"]
    profile = resources(stack, "aws_iam_instance_profile")["box_profile"]
    instance = resources(stack, "aws_instance")["instance"]

    assert role["name"] == "envctl-env-0a1b2c3d-box"
    assert role["tags"]["envctl:environment-id"] == "env-0a1b2c3d"
    assert policy["role"] == "${aws_iam_role.box_role.name}"
    assert profile["name"] == "envctl-env-0a1b2c3d-box"
    assert profile["role"] == "${aws_iam_role.box_role.name}"
    assert instance["iam_instance_profile"] == "${aws_iam_instance_profile.box_profile.name}"


def test_role_trusts_ec2_only(spec_from, synth_stack):
    role = resources(synth_stack(spec_from(), report_activity=True), "aws_iam_role")["box_role"]

    trust = statement_of(role["assume_role_policy"])

    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Effect"] == "Allow"


def test_policy_allows_only_last_activity_tag(spec_from, synth_stack):
    stack = synth_stack(spec_from(), report_activity=True)
    policy = resources(stack, "aws_iam_role_policy")["box_role_policy"]

    statement = statement_of(policy["policy"])
    condition = statement["Condition"]

    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "ec2:CreateTags"
    assert statement["Resource"] == f"arn:{PARTITION}:ec2:*:*:instance/*"
    assert condition["StringEquals"] == {"ec2:ResourceTag/envctl:environment-id": "env-0a1b2c3d"}
    assert condition["ForAllValues:StringEquals"] == {"aws:TagKeys": [LAST_ACTIVITY_TAG]}
    # Without this, a request that carries no tag keys would pass ForAllValues.
    assert condition["Null"] == {"aws:TagKeys": "false"}
    assert set(condition) == {"StringEquals", "ForAllValues:StringEquals", "Null"}


@pytest.mark.parametrize("text,report_activity", [
    (GOOD_ENVIRONMENT, False),
    (NO_AUTOSTOP, True),
], ids=["reporting off", "autostop off"])
def test_no_role_without_reporting_or_agent(spec_from, synth_stack, text, report_activity):
    stack = synth_stack(spec_from(text), report_activity=report_activity)

    for resource_type in BOX_TYPES:
        assert resources(stack, resource_type) == {}, resource_type
    assert "iam_instance_profile" not in resources(stack, "aws_instance")["instance"]
    assert "aws_partition" not in stack.get("data", {})


def test_backup_and_role_share_partition(spec_from, synth_stack):
    stack = synth_stack(spec_from(WITH_BACKUP), report_activity=True, backup_policy=True)

    assert list(stack["data"]["aws_partition"]) == ["partition"]
    assert sorted(resources(stack, "aws_iam_role")) == ["backup_role", "box_role"]


@pytest.mark.parametrize("report_activity", [True, False])
def test_provider_ignores_last_activity_tag(spec_from, synth_stack, report_activity):
    # The agent sets the tag outside Terraform, so a plan must neither show nor remove it.
    stack = synth_stack(spec_from(), report_activity=report_activity)

    provider = stack["provider"]["aws"][0]

    assert provider["ignore_tags"] == [{"keys": [LAST_ACTIVITY_TAG]}]


def test_role_name_fits_iam_limit(spec_from):
    spec = spec_from(GOOD_ENVIRONMENT.replace("id: env-0a1b2c3d", f"id: {MAX_LENGTH_ID}"))

    assert spec.id == MAX_LENGTH_ID
    assert len(box_role_name(spec)) <= 64


def test_policy_names_partition_given(spec_from):
    settings = box_role_policy_settings(spec_from(), "aws-cn")

    assert statement_of(settings["policy"])["Resource"] == "arn:aws-cn:ec2:*:*:instance/*"


@pytest.mark.parametrize("text,report_activity,included", [
    (GOOD_ENVIRONMENT, True, True),
    (GOOD_ENVIRONMENT, False, False),
    (NO_AUTOSTOP, True, False),
    (NO_AUTOSTOP, False, False),
], ids=["agent, reporting", "agent, not reporting", "no agent, reporting", "neither"])
def test_role_included_only_with_agent(spec_from, text, report_activity, included):
    assert box_role_included(spec_from(text), report_activity) is included


def test_project_setting_turns_role_off(make_project):
    from envctl.cdk.app import synth_project
    from envctl.definitions.loader import load_project
    from envctl.terraform.runner import STACK_FILE

    settings = "region: us-east-1\nautostop:\n  report_activity: false\n"
    project = load_project(make_project(settings=settings))
    folders = synth_project(project, project.environments)
    stack = json.loads((folders["env-0a1b2c3d"] / STACK_FILE).read_text())

    assert project.settings.autostop.report_activity is False
    assert resources(stack, "aws_iam_role") == {}
    assert "iam_instance_profile" not in resources(stack, "aws_instance")["instance"]


def test_project_reports_activity_by_default(make_project):
    from envctl.cdk.app import synth_project
    from envctl.definitions.loader import load_project
    from envctl.terraform.runner import STACK_FILE

    project = load_project(make_project())
    folders = synth_project(project, project.environments)
    stack = json.loads((folders["env-0a1b2c3d"] / STACK_FILE).read_text())

    assert project.settings.autostop.report_activity is True
    assert list(resources(stack, "aws_iam_instance_profile")) == ["box_profile"]

