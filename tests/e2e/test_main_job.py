"""The main job on the sandbox: every example applies, stays converged, and keeps its volume."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2e_support import copy_examples, store_example_secrets, workspace_for

from envctl.cli.main import cli
from envctl.definitions.editing import set_field
from envctl.definitions.loader import load_project
from envctl.errors import DataLossRefused, StalePlan
from envctl.planning.run import (
    apply_plans,
    plan_destroy,
    plan_environments,
    retained_volume_id,
)
from envctl.resources import LAST_ACTIVITY_TAG

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def applied(tmp_path_factory, sandbox):
    """Every example environment planned and applied on a fresh cloud (about a minute)."""
    from envctl.sandbox import reset_cloud

    reset_cloud(sandbox)
    root = copy_examples(tmp_path_factory.mktemp("main") / "project")
    workspace = workspace_for(root, sandbox)
    store_example_secrets(workspace)
    plans = plan_environments(workspace, workspace.project.environments, root / "plans")
    results = apply_plans(workspace, plans)
    return workspace, plans, results


def test_every_example_applies(applied):
    workspace, plans, results = applied

    assert [plan.environment for plan in plans] == sorted(plan.environment for plan in plans)
    assert len(results) == len(workspace.project.environments) == 6
    for result in results:
        assert result.outputs["instance_id"].startswith("i-"), result
        assert result.outputs["volume_id"].startswith("vol-"), result
    for plan in plans:
        assert plan.impact.volume == "created"
        assert plan.counts["destroy"] == 0


def test_plan_after_apply_has_no_changes(applied):
    workspace, _, _ = applied

    again = plan_environments(workspace, workspace.project.environments, workspace.plans_dir)

    changed = {plan.environment: plan.changes for plan in again if plan.has_changes}
    assert changed == {}


def test_boxes_run_with_box_role(applied):
    workspace, _, results = applied

    for result in results:
        spec = workspace.project.environment(result.environment)
        name = f"envctl-{spec.id}-box"
        ec2 = workspace.client("ec2", spec.region)
        iam = workspace.client("iam", spec.region)
        reservations = ec2.describe_instances(InstanceIds=[result.outputs["instance_id"]])
        instance = reservations["Reservations"][0]["Instances"][0]
        profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        policy = iam.get_role_policy(RoleName=name, PolicyName="envctl-last-activity")
        condition = policy["PolicyDocument"]["Statement"][0]["Condition"]

        assert instance["IamInstanceProfile"]["Arn"] == profile["Arn"], spec.name
        assert [role["RoleName"] for role in profile["Roles"]] == [name]
        assert condition["StringEquals"] == {"ec2:ResourceTag/envctl:environment-id": spec.id}


def test_last_activity_tag_leaves_plan_unchanged(applied):
    workspace, _, results = applied
    spec = workspace.project.environment("pytorch-train")
    instance_id = next(r.outputs["instance_id"] for r in results if r.environment == spec.name)
    ec2 = workspace.client("ec2", spec.region)
    # What the box's autostop agent sends with its role's credentials.
    ec2.create_tags(Resources=[instance_id],
                    Tags=[{"Key": LAST_ACTIVITY_TAG, "Value": "2026-12-04T10:00:00Z"}])

    again = plan_environments(workspace, [spec], workspace.plans_dir)

    assert again[0].changes == ()
    assert not again[0].has_changes


def test_images_are_pinned_in_files(applied):
    workspace, _, _ = applied

    for spec in load_project(workspace.project.root).environments:
        assert spec.image.pinned and spec.image.pinned.startswith("ami-"), spec.name


def test_destroy_keeps_volume_and_apply_reattaches(applied):
    workspace, _, results = applied
    spec = workspace.project.environment("whisper")
    volume_id = next(r.outputs["volume_id"] for r in results if r.environment == "whisper")

    destroy = plan_destroy(workspace, spec, workspace.plans_dir, delete_volume=False)
    apply_plans(workspace, [destroy])

    assert destroy.impact.volume == "kept"
    assert retained_volume_id(workspace, spec) == volume_id
    ec2 = workspace.client("ec2", spec.region)
    volume = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    assert volume["State"] == "available"

    again = plan_environments(workspace, [spec], workspace.plans_dir)
    applied_again = apply_plans(workspace, again)

    assert applied_again[0].outputs["volume_id"] == volume_id
    volume = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    assert volume["Attachments"][0]["InstanceId"] == applied_again[0].outputs["instance_id"]


def test_stale_definition_plan_refused(applied):
    workspace, _, _ = applied
    spec = workspace.project.environment("python-cpu")
    runner = CliRunner()
    plan_dir = workspace.project.root / "stale-plans"
    base = ["--project", str(workspace.project.root)]
    env = workspace.env

    planned = runner.invoke(cli, [*base, "plan", "python-cpu", "--sandbox", "--out",
                                  str(plan_dir)], env=env)
    assert planned.exit_code == 0, planned.stderr
    set_field(spec.source, ("tags", "cost-center"), "ml-42")
    applied_result = runner.invoke(cli, [*base, "apply", "python-cpu", "--sandbox",
                                         "--plan-dir", str(plan_dir), "--yes"], env=env)

    assert applied_result.exit_code == 1
    assert "made from a different definition" in applied_result.stderr
    assert "envctl plan python-cpu" in applied_result.stderr


def test_stale_state_plan_refused(applied):
    workspace, _, _ = applied
    spec = workspace.project.environment("go-dev")
    set_field(spec.source, ("tags", "team"), "platform")
    workspace.project = load_project(workspace.project.root)
    spec = workspace.project.environment("go-dev")
    first = plan_environments(workspace, [spec], workspace.project.root / "first")
    second = plan_environments(workspace, [spec], workspace.project.root / "second")
    apply_plans(workspace, second)

    with pytest.raises(StalePlan, match="state changed since it was made"):
        apply_plans(workspace, first)


def test_cli_plan_detailed_exitcode(applied):
    workspace, _, _ = applied
    base = ["--project", str(workspace.project.root)]

    result = CliRunner().invoke(cli, [*base, "plan", "rust-dev", "--sandbox",
                                      "--detailed-exitcode"], env=workspace.env)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "rust-dev: no changes"
    assert "Everything is up to date." in result.stderr


def test_cli_apply_needs_yes_without_terminal(applied):
    workspace, _, _ = applied
    spec = workspace.project.environment("rust-dev")
    set_field(spec.source, ("tags", "team"), "systems")
    base = ["--project", str(workspace.project.root)]

    planned = CliRunner().invoke(cli, [*base, "plan", "rust-dev", "--sandbox",
                                       "--detailed-exitcode"], env=workspace.env)
    refused = CliRunner().invoke(cli, [*base, "apply", "rust-dev", "--sandbox"],
                                 env=workspace.env)

    assert planned.exit_code == 2, planned.stderr
    assert "0 to add" in planned.stdout
    assert "volume kept, root disk kept, box untouched" in planned.stdout
    assert refused.exit_code == 1
    assert "pass --yes" in refused.stderr


def test_destroy_with_delete_volume_removes_it(tmp_path, sandbox):
    root = copy_examples(tmp_path / "project")
    # A new id, so this stack does not collide with the applied module's python-cpu.
    set_field(root / "environments" / "python-cpu.yaml", ("id",), "env-d0d0d0d0")
    workspace = workspace_for(root, sandbox)
    spec = workspace.project.environment("python-cpu")
    results = apply_plans(workspace, plan_environments(workspace, [spec], root / "plans"))
    volume_id = results[0].outputs["volume_id"]

    destroy = plan_destroy(workspace, spec, root / "plans", delete_volume=True)
    with pytest.raises(DataLossRefused, match="--allow-data-loss python-cpu"):
        apply_plans(workspace, [destroy])
    apply_plans(workspace, [destroy], allow_data_loss=[spec.name])

    assert destroy.impact.volume == "destroyed"
    ec2 = workspace.client("ec2", spec.region)
    remaining = ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [volume_id]}])
    assert remaining["Volumes"] == []
    shutil.rmtree(root)


def test_sandbox_stack_reaches_only_loopback(applied):
    workspace, _, _ = applied

    for stack in Path(workspace.project.root, "cdktf.out", "stacks").glob("*/cdk.tf.json"):
        text = stack.read_text()
        for url in re.findall(r"https?://[^\"]+", text):
            assert url.startswith("http://127.0.0.1:"), (stack, url)
