"""envctl check: policy lines on stdout, one error line on stderr, exit 1 on a failure."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner
from review_support import environment_yaml, write_project

from envctl.cli.main import cli

STRICT = "region: us-east-1\npolicy:\n  required_tags: [owner, cost-center]\n"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_passing_project_exits_zero(tmp_path):
    root = write_project(tmp_path, {"alpha": environment_yaml("alpha", 1)})

    result = invoke("--project", str(root), "check")

    assert result.exit_code == 0, result.output
    assert result.stdout == "alpha: policies: 8 passed\n"
    assert result.stderr == ""


def test_failing_policy_exits_one(tmp_path):
    root = write_project(tmp_path, {"alpha": environment_yaml("alpha", 1),
                                    "beta": environment_yaml("beta", 2, extra=(
                                        "tags:\n  cost-center: research\n"))}, settings=STRICT)

    result = invoke("--project", str(root), "check")

    assert result.exit_code == 1
    assert "alpha: policies: 7 passed, 1 failed\n  FAILED required-tags: tag cost-center" in (
        result.stdout)
    assert "beta: policies: 8 passed\n" in result.stdout
    assert result.stderr.startswith("error: 1 policy check(s) failed: alpha (required-tags).")


def test_check_named_environment_only(tmp_path):
    root = write_project(tmp_path, {"alpha": environment_yaml("alpha", 1),
                                    "beta": environment_yaml("beta", 2, extra=(
                                        "tags:\n  cost-center: research\n"))}, settings=STRICT)

    result = invoke("--project", str(root), "check", "beta")

    assert result.exit_code == 0
    assert result.stdout == "beta: policies: 8 passed\n"


def test_waived_policy_passes_and_is_listed(tmp_path):
    settings = STRICT + ("  exceptions:\n    - policy: required-tags\n      environment: alpha\n"
                         "      reason: shared lab box without a cost center\n")
    root = write_project(tmp_path, {"alpha": environment_yaml("alpha", 1)}, settings=settings)

    result = invoke("--project", str(root), "check")

    assert result.exit_code == 0
    assert result.stdout == ("alpha: policies: 7 passed, 1 waived\n"
                             "  waived required-tags: shared lab box without a cost center\n")


def test_json_output(tmp_path):
    root = write_project(tmp_path, {"alpha": environment_yaml("alpha", 1)}, settings=STRICT)

    result = invoke("--project", str(root), "--output", "json", "check")

    data = json.loads(result.stdout)
    assert result.exit_code == 1
    assert len(data) == 8
    failed = [entry for entry in data if not entry["passed"]]
    assert [entry["policy"] for entry in failed] == ["required-tags"]
    assert failed[0]["environment"] == "alpha"
    assert failed[0]["waiver"] is None


def test_plan_rejects_names_with_changed_since(tmp_path):
    root = write_project(tmp_path, {"alpha": environment_yaml("alpha", 1)})

    result = invoke("--project", str(root), "plan", "alpha", "--changed-since", "main")

    assert result.exit_code == 2
    assert "--changed-since chooses the environments itself" in result.stderr


PROBE = """
import sys
from click.testing import CliRunner
from envctl.cli.main import cli
result = CliRunner().invoke(cli, sys.argv[1:])
heavy = ("cdktn", "cdktn_provider_aws", "jsii", "envctl.cdk", "boto3", "hvac")
print("exit=" + str(result.exit_code))
print("loaded=" + ",".join(sorted(name for name in heavy if name in sys.modules)))
"""


def test_check_skips_heavy_imports(tmp_path):
    root = write_project(tmp_path, {"alpha": environment_yaml("alpha", 1)})

    completed = subprocess.run([sys.executable, "-c", PROBE, "--project", str(root), "check"],
                               capture_output=True, text=True, check=True)

    assert "exit=0" in completed.stdout.splitlines()
    assert "loaded=" in completed.stdout.splitlines()
