"""envctl create --gpu: the same cheapest-type selection as scale and offers, with no cloud."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from envctl.cli.main import cli
from envctl.definitions import catalog
from envctl.definitions.loader import load_project
from envctl.offers import GpuRequest, select_gpu_type


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project, and a home folder whose settings name the user alice."""
    home = tmp_path / "home"
    (home / ".config" / "envctl").mkdir(parents=True)
    (home / ".config" / "envctl" / "config.yaml").write_text("name: alice\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / "envctl.yaml").write_text("region: us-east-1\n")
    return root


def create(root, *args):
    return CliRunner().invoke(cli, ["--project", str(root), "create", *args])


@pytest.mark.parametrize("gpu,expected", [("A10G", "g5.xlarge"), ("A10G:4", "g5.12xlarge"),
                                          ("L4", "g6.xlarge"), ("T4", "g4dn.xlarge")])
def test_gpu_picks_cheapest_type(project, gpu, expected):
    result = create(project, "box", "--template", "pytorch", "--gpu", gpu)

    assert result.exit_code == 0, result.stderr
    spec = load_project(project).environment("box")
    assert spec.instance_type == expected
    assert f"--gpu {gpu}: picked {expected} ($" in result.stderr


def test_gpu_pick_matches_selection_in_zone(project):
    create(project, "box", "--template", "pytorch", "--gpu", "L4")

    spec = load_project(project).environment("box")
    offered = catalog.zone_offerings("us-east-1")[spec.availability_zone]
    picked = select_gpu_type(GpuRequest("L4"), "us-east-1", offered, "x86_64")
    assert spec.instance_type == picked.instance_type


def test_gpu_file_reads_like_type(project):
    create(project, "box", "--template", "pytorch", "--gpu", "A10G:4")

    text = (project / "environments" / "box.yaml").read_text()
    assert "instance:\n  type: g5.12xlarge\n" in text
    assert "--gpu" not in text


def test_unknown_gpu_count_leaves_nothing(project):
    result = create(project, "box", "--template", "pytorch", "--gpu", "A10G:3")

    assert result.exit_code == 1
    assert "no instance type with 3 x A10G is offered in the volume's zone" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (project / "environments" / "box.yaml").exists()
    assert not (project / "templates" / "pytorch.yaml").exists()


def test_type_and_gpu_together_rejected(project):
    result = create(project, "box", "--template", "pytorch", "--type", "g5.xlarge",
                    "--gpu", "A10G")

    assert result.exit_code == 2
    assert "pass --type or --gpu, not both" in result.stderr
    assert not (project / "environments" / "box.yaml").exists()
