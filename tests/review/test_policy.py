"""Policies: a passing and a failing case for each, on specs and on stack JSON, and waivers."""

from __future__ import annotations

import copy
from typing import get_args

import pytest
from review_support import environment_yaml, load_spec

from envctl.definitions.loader import load_project
from envctl.definitions.project import PolicyName
from envctl.errors import DefinitionError
from envctl.review.policy import POLICIES, evaluate, failure_summary, resources_from_spec

SETTINGS = "region: us-east-1\n"


def result_of(results, policy):
    return next(result for result in results if result.policy == policy)


def check(tmp_path, policy, text=None, settings=SETTINGS, stack=None):
    spec = load_spec(tmp_path, text or environment_yaml("box", 1), settings)

    return result_of(evaluate(spec, load_project(tmp_path).settings, stack), policy)


def test_every_policy_name_has_a_check():
    assert set(POLICIES) == set(get_args(PolicyName))


def test_default_environment_passes_everything(tmp_path):
    spec = load_spec(tmp_path, environment_yaml("box", 1))

    results = evaluate(spec, load_project(tmp_path).settings)

    assert [result.policy for result in results if not result.passed] == []
    assert len(results) == len(POLICIES)


# (policy, environment file text or None for the default, envctl.yaml text, message piece)
FAILING = [
    ("ssh-not-world",
     environment_yaml("box", 1).replace("  ssh_cidrs: [203.0.113.0/24]",
                                        "  ssh_cidrs: [0.0.0.0/0]\n  allow_world_ssh: true"),
     SETTINGS, "allows SSH from 0.0.0.0/0"),
    ("ssh-not-world",
     environment_yaml("box", 1).replace("  ssh_cidrs: [203.0.113.0/24]",
                                        "  ssh_cidrs: ['::/0']\n  allow_world_ssh: true"),
     SETTINGS, "allows SSH from ::/0"),
    ("volumes-encrypted",
     environment_yaml("box", 1).replace("  size_gb: 200", "  size_gb: 200\n  encrypted: false"),
     SETTINGS, "aws_ebs_volume.data_volume is not encrypted"),
    ("required-tags", None, SETTINGS + "policy:\n  required_tags: [owner, cost-center]\n",
     "tag cost-center is missing or empty"),
    ("gpu-autostop",
     environment_yaml("box", 1).replace("idle_minutes: 60", "idle_minutes: null"),
     SETTINGS, "g5.xlarge has an accelerator and autostop is off"),
    ("allowed-instance-types", None,
     SETTINGS + "policy:\n  allowed_instance_types: ['t3.*', g4dn.xlarge]\n",
     "g5.xlarge is not in policy.allowed_instance_types"),
    ("allowed-regions", None, SETTINGS + "policy:\n  allowed_regions: [eu-west-1]\n",
     "us-east-1 is not in policy.allowed_regions"),
    ("max-hourly-cost", None, SETTINGS + "policy:\n  max_hourly_usd: 1.0\n",
     "over policy.max_hourly_usd $1.00/h"),
]

PASSING = [
    ("ssh-not-world", None, SETTINGS),
    ("volumes-encrypted", None, SETTINGS),
    ("required-tags",
     environment_yaml("box", 1, extra="tags:\n  cost-center: ml-research\n"),
     SETTINGS + "policy:\n  required_tags: [owner, cost-center]\n"),
    ("gpu-autostop",
     environment_yaml("box", 1).replace("idle_minutes: 60", "idle_minutes: null")
     .replace("g5.xlarge", "t3.large"), SETTINGS),
    ("allowed-instance-types", None, SETTINGS + "policy:\n  allowed_instance_types: ['g5.*']\n"),
    ("allowed-regions", None, SETTINGS + "policy:\n  allowed_regions: [us-east-1]\n"),
    ("max-hourly-cost", None, SETTINGS + "policy:\n  max_hourly_usd: 1.1\n"),
]


@pytest.mark.parametrize("policy,text,settings,message", FAILING,
                         ids=[f"{row[0]}-{index}" for index, row in enumerate(FAILING)])
def test_policy_fails(tmp_path, policy, text, settings, message):
    result = check(tmp_path, policy, text, settings)

    assert not result.passed
    assert result.failed
    assert message in result.message


@pytest.mark.parametrize("policy,text,settings", PASSING, ids=[row[0] for row in PASSING])
def test_policy_passes(tmp_path, policy, text, settings):
    result = check(tmp_path, policy, text, settings)

    assert result.passed, result.message
    assert not result.failed


def stack_for(tmp_path):
    """A stack-shaped dict built from the default environment, to break one argument in."""
    spec = load_spec(tmp_path, environment_yaml("box", 1))
    return {"resource": copy.deepcopy(resources_from_spec(spec))}


def test_imdsv2_passes_on_required_tokens(tmp_path):
    stack = stack_for(tmp_path)

    assert check(tmp_path, "imdsv2-required", stack=stack).passed


@pytest.mark.parametrize("options", [
    {"http_endpoint": "enabled", "http_tokens": "optional"},
    [{"http_endpoint": "enabled", "http_tokens": "optional"}],
    None,
])
def test_imdsv2_fails_when_v1_allowed(tmp_path, options):
    stack = stack_for(tmp_path)
    stack["resource"]["aws_instance"]["instance"]["metadata_options"] = options

    result = check(tmp_path, "imdsv2-required", stack=stack)

    assert result.failed
    assert "aws_instance.instance accepts IMDSv1" in result.message


def test_imdsv2_passes_with_metadata_disabled(tmp_path):
    stack = stack_for(tmp_path)
    stack["resource"]["aws_instance"]["instance"]["metadata_options"] = {
        "http_endpoint": "disabled"}

    assert check(tmp_path, "imdsv2-required", stack=stack).passed


def test_unencrypted_root_disk_fails(tmp_path):
    stack = stack_for(tmp_path)
    stack["resource"]["aws_instance"]["instance"]["root_block_device"]["encrypted"] = False

    result = check(tmp_path, "volumes-encrypted", stack=stack)

    assert result.failed
    assert "aws_instance.instance has an unencrypted disk" in result.message


def test_inline_world_ssh_rule_fails(tmp_path):
    stack = stack_for(tmp_path)
    stack["resource"]["aws_security_group"]["security_group"]["ingress"] = [
        {"protocol": "tcp", "from_port": 0, "to_port": 65535, "cidr_blocks": ["0.0.0.0/0"]}]

    result = check(tmp_path, "ssh-not-world", stack=stack)

    assert result.failed
    assert "aws_security_group.security_group allows SSH" in result.message


def test_world_rule_on_other_port_passes(tmp_path):
    stack = stack_for(tmp_path)
    stack["resource"]["aws_security_group_rule"]["rule_https"] = {
        "type": "ingress", "protocol": "tcp", "from_port": 443, "to_port": 443,
        "cidr_blocks": ["0.0.0.0/0"]}

    assert check(tmp_path, "ssh-not-world", stack=stack).passed


def test_all_protocols_rule_opens_ssh(tmp_path):
    stack = stack_for(tmp_path)
    stack["resource"]["aws_security_group_rule"]["rule_any"] = {
        "type": "ingress", "protocol": "-1", "from_port": 0, "to_port": 0,
        "cidr_blocks": ["0.0.0.0/0"]}

    assert check(tmp_path, "ssh-not-world", stack=stack).failed


def test_required_tag_message_names_no_value(tmp_path):
    canary = "canary-tag-value-0b5e"
    text = environment_yaml("box", 1, extra=f"tags:\n  cost-center: '  '\n  note: {canary}\n")
    settings = SETTINGS + "policy:\n  required_tags: [owner, cost-center, team]\n"

    result = check(tmp_path, "required-tags", text, settings)

    assert result.failed
    assert "tag cost-center is missing or empty" in result.message
    assert "tag team is missing or empty" in result.message
    assert canary not in result.message


def test_unknown_price_fails_cost_limit(tmp_path):
    text = environment_yaml("box", 1).replace("availability_zone: us-east-1a\n",
                                              "region: eu-west-1\n")
    settings = "region: us-east-1\npolicy:\n  max_hourly_usd: 5\n"

    result = check(tmp_path, "max-hourly-cost", text, settings)

    assert result.failed
    assert "cannot be checked" in result.message


def test_exception_waives_named_environment(tmp_path):
    settings = SETTINGS + (
        "policy:\n  allowed_regions: [eu-west-1]\n  exceptions:\n"
        "    - policy: allowed-regions\n      environment: box\n"
        "      reason: the team's data lives in us-east-1\n")

    result = check(tmp_path, "allowed-regions", settings=settings)

    assert not result.passed
    assert not result.failed
    assert result.waiver == "the team's data lives in us-east-1"


def test_exception_for_other_environment_does_not_waive(tmp_path):
    settings = SETTINGS + (
        "policy:\n  allowed_regions: [eu-west-1]\n  exceptions:\n"
        "    - policy: allowed-regions\n      environment: other\n      reason: not this one\n")

    result = check(tmp_path, "allowed-regions", settings=settings)

    assert result.failed
    assert result.waiver is None


def test_exception_needs_a_reason(tmp_path):
    settings = SETTINGS + "policy:\n  exceptions:\n    - policy: gpu-autostop\n      reason: ''\n"

    with pytest.raises(DefinitionError, match="reason"):
        load_spec(tmp_path, environment_yaml("box", 1), settings)


def test_unknown_policy_name_is_invalid(tmp_path):
    settings = SETTINGS + "policy:\n  exceptions:\n    - policy: no-such\n      reason: x\n"

    with pytest.raises(DefinitionError, match="policy"):
        load_spec(tmp_path, environment_yaml("box", 1), settings)


def test_failure_summary_names_environment_and_policies(tmp_path):
    settings = SETTINGS + "policy:\n  allowed_regions: [eu-west-1]\n  max_hourly_usd: 0.5\n"
    spec = load_spec(tmp_path, environment_yaml("box", 1), settings)

    summary = failure_summary(evaluate(spec, load_project(tmp_path).settings))

    assert summary.startswith("2 policy check(s) failed: box (allowed-regions, max-hourly-cost)")
    assert "policy.exceptions" in summary
