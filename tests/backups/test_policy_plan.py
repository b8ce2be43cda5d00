"""The DLM policy through real Terraform: `terraform validate` on hashicorp/aws 3.39.0, and the
plan JSON against the sandbox.

moto has no Data Lifecycle Manager API, so this stack is planned and never applied; planning
a new policy makes no DLM call. Cost: one init and two plans, about 20 s.
"""

from __future__ import annotations

import json

import pytest
from backups_support import write_project
from e2e_support import workspace_for

from envctl.backups.policy import SANDBOX_NOTE
from envctl.cli.render import plan_summary

pytestmark = pytest.mark.e2e

POLICY = "aws_dlm_lifecycle_policy.backup_policy"
MANAGED_POLICY = "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"


@pytest.fixture(scope="module")
def policy_stack(tmp_path_factory, sandbox):
    """The backup box's stack with the policy forced in, initialized, validated and planned,
    and its runner."""
    from envctl.cdk.app import synth
    from envctl.cdk.stack import StackOptions
    from envctl.planning.plans import pin_images
    from envctl.resources import AWS_SERVICES
    from envctl.terraform.engine import engine_for
    from envctl.terraform.runner import StackRunner

    root = write_project(tmp_path_factory.mktemp("policy") / "project")
    workspace = workspace_for(root, sandbox)
    spec = pin_images(workspace, workspace.project.environments)[0]
    settings = workspace.project.settings
    options = StackOptions(
        state=settings.state, state_dir=workspace.state_dir,
        provider_version=settings.provider.version,
        endpoints={service: sandbox.aws_endpoint for service in AWS_SERVICES},
        sandbox=True, backup_policy=True)
    folder = synth([spec], root / "cdktf.out", lambda _: options)[spec.id]
    runner = StackRunner(spec.name, folder, engine_for(workspace.engine_name), env=workspace.env)
    runner.init()
    runner.validate()
    outcome = runner.plan(root / "backup-box.tfplan")
    return workspace, spec, folder, outcome, runner


def change_of(plan, address):
    found = [change for change in plan["resource_changes"] if change["address"] == address]
    assert len(found) == 1, f"{address} not in the plan"
    return found[0]["change"]


def test_policy_validates_on_provider_3_39(policy_stack):
    _, _, folder, _, runner = policy_stack

    lock = (folder / ".terraform.lock.hcl").read_text()
    result = runner.engine.run(["validate", "-json", "-no-color"], folder, runner.child_env())
    report = json.loads(result.stdout)

    assert 'version     = "3.39.0"' in lock
    assert result.returncode == 0, result.stderr
    assert report["valid"] is True
    assert report["error_count"] == 0
    assert report["diagnostics"] == []
    stack = json.loads((folder / "cdk.tf.json").read_text())
    assert "backup_policy" in stack["resource"]["aws_dlm_lifecycle_policy"]


def test_plan_creates_policy_as_intended(policy_stack):
    _, _, _, outcome, _ = policy_stack
    change = change_of(outcome.plan, POLICY)
    after = change["after"]
    details = after["policy_details"][0]
    schedule = details["schedule"][0]

    assert change["actions"] == ["create"]
    assert after["state"] == "ENABLED"
    assert after["description"] == "envctl backups of backup-box env-b4c0ffee"
    assert details["resource_types"] == ["VOLUME"]
    assert details["target_tags"] == {"envctl:environment-id": "env-b4c0ffee"}
    assert schedule["name"] == "envctl scheduled snapshots"
    assert schedule["create_rule"] == [{"interval": 12, "interval_unit": "HOURS",
                                        "times": ["04:30"]}]
    assert schedule["retain_rule"] == [{"count": 14}]
    assert schedule["copy_tags"] is True
    assert schedule["tags_to_add"] == {"envctl:snapshot-kind": "scheduled"}
    assert change["after_unknown"]["execution_role_arn"] is True


def test_plan_creates_role_for_dlm(policy_stack):
    _, _, _, outcome, _ = policy_stack

    role = change_of(outcome.plan, "aws_iam_role.backup_role")["after"]
    attachment = change_of(outcome.plan, "aws_iam_role_policy_attachment.backup_role_policy")

    trust = json.loads(role["assume_role_policy"])
    assert role["name"] == "envctl-env-b4c0ffee-backup"
    assert trust["Statement"][0]["Principal"] == {"Service": "dlm.amazonaws.com"}
    assert attachment["actions"] == ["create"]
    assert attachment["after"]["policy_arn"] == MANAGED_POLICY


def test_plan_summary_shows_schedule(policy_stack):
    from envctl.planning.plans import summarize

    _, spec, folder, outcome, _ = policy_stack

    plan = summarize(spec, folder, outcome.plan_file, outcome.plan, outcome.has_changes)

    assert plan.backup == ("snapshots every 12h from 04:30 UTC, keep the newest 14; final "
                           "snapshot before the volume is deleted")
    assert f"  backup: {plan.backup}" in plan_summary(plan).splitlines()


def test_sandbox_plan_leaves_policy_out_and_says_so(policy_stack):
    from envctl.planning.run import plan_environments

    workspace, spec, _, _, _ = policy_stack

    plan = plan_environments(workspace, [spec], workspace.project.root / "plans")[0]

    addresses = [address for address, _ in plan.changes]
    assert POLICY not in addresses
    assert "aws_iam_role.backup_role" not in addresses
    assert plan.backup.endswith(f"{SANDBOX_NOTE}; final snapshot before the volume is deleted")
