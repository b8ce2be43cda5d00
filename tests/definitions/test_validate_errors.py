"""Every kind of bad input gets one line naming file:line, the field and the fix; exit 1."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from tests_support import GOOD_ENVIRONMENT

from envctl.cli.main import cli

# (case, text replaced in the good file, replacement, expected pieces of the error line)
BAD_INPUTS = [
    ("unknown key", "  mount_path: /data", "  mount_pth: /data",
     ["sd-box.yaml:12", "volume.mount_pth", "unknown key", "did you mean 'mount_path'?"]),
    ("wrong type", "size_gb: 200", "size_gb: big",
     ["sd-box.yaml:10", "volume.size_gb", "valid integer", "'big'"]),
    ("name not a DNS label", "name: sd-box", "name: SD_Box",
     ["sd-box.yaml:2", "name", "not a DNS label"]),
    ("unknown instance type", "type: g5.xlarge", "type: g5.xlarg",
     ["sd-box.yaml:6", "instance.type", "unknown instance type 'g5.xlarg'",
      "did you mean 'g5.xlarge'?"]),
    ("volume too big for type", "size_gb: 200", "size_gb: 20000",
     ["sd-box.yaml:9", "volume", "outside 1-16384 GiB for gp3"]),
    ("io2 too small", "size_gb: 200\n  type: gp3", "size_gb: 2\n  type: io2\n  iops: 1000",
     ["volume", "outside 4-65536 GiB for io2"]),
    ("io2 without iops", "  type: gp3\n", "  type: io2\n", ["volume", "io2 needs iops"]),
    ("gp3 iops out of range", "  type: gp3\n", "  type: gp3\n  iops: 100\n",
     ["volume", "iops 100 is outside 3000-16000 for gp3"]),
    ("zone outside region", "availability_zone: us-east-1a", "availability_zone: eu-west-1a",
     ["sd-box.yaml:4", "availability_zone", "not a zone of us-east-1", "use one of"]),
    ("invalid CIDR", "203.0.113.0/24", "203.0.113.300/24",
     ["sd-box.yaml:14", "network.ssh_cidrs.0", "not a valid CIDR"]),
    ("CIDR with host bits", "203.0.113.0/24", "203.0.113.7/24",
     ["network.ssh_cidrs.0", "not a valid CIDR"]),
    ("world SSH without consent", "203.0.113.0/24", "0.0.0.0/0",
     ["network", "open", "allow_world_ssh: true"]),
    ("mount path shadows system", "mount_path: /data", "mount_path: /usr",
     ["sd-box.yaml:12", "volume.mount_path", "shadow a system directory"]),
    ("relative mount path", "mount_path: /data", "mount_path: data",
     ["volume.mount_path", "not an absolute path"]),
    ("bad AMI id", "ami: ami-0123456789abcdef0", "ami: ubuntu",
     ["image", "not an AMI id"]),
    ("two image sources", "  ami: ami-0123456789abcdef0\n",
     "  ami: ami-0123456789abcdef0\n  name: ubuntu*\n", ["image", "exactly one of"]),
    ("bad id", "id: env-0a1b2c3d", "id: my-env", ["sd-box.yaml:1", "id", "not an environment id"]),
    ("missing owner", "owner: alice\n", "", ["owner", "missing required field"]),
    ("invalid YAML", "tags:\n  team: vision", "tags: [unclosed", ["invalid YAML"]),
    ("bad secret name", "name: HF_TOKEN", "name: HF-TOKEN", ["secrets.0.name", "not a valid"]),
    ("unknown region", "availability_zone: us-east-1a\n", "region: us-est-1\n",
     ["region", "unknown region 'us-est-1'", "did you mean"]),
]


@pytest.mark.parametrize("case,old,new,expected", BAD_INPUTS, ids=[row[0] for row in BAD_INPUTS])
def test_bad_input_is_one_clear_line(make_project, case, old, new, expected):
    assert old in GOOD_ENVIRONMENT, case
    root = make_project({"sd-box": GOOD_ENVIRONMENT.replace(old, new, 1)})

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 1, result.output
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    first = error_lines[0]
    for piece in expected:
        assert piece in first, f"{piece!r} not in {first!r}"
    assert "Traceback" not in result.stderr


def test_good_project_validates(make_project):
    root = make_project()

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "1 environment(s) valid: sd-box"
    assert result.stderr == ""


def test_duplicate_names_and_ids_rejected(make_project):
    other = GOOD_ENVIRONMENT.replace("env-0a1b2c3d", "env-0a1b2c3e")
    same_id = GOOD_ENVIRONMENT.replace("name: sd-box", "name: other-box")
    root = make_project({"a": GOOD_ENVIRONMENT, "b": other, "c": same_id})

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 1
    assert "name: 'sd-box' is also used by" in result.stderr
    assert "id: 'env-0a1b2c3d' is also used by" in result.stderr


def test_unknown_template_names_known_ones(make_project):
    text = GOOD_ENVIRONMENT.replace("owner: alice\n", "owner: alice\ntemplate: gpu\n")
    root = make_project({"sd-box": text}, templates={"gpu-base": "instance:\n  type: g5.xlarge\n"})

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 1
    assert "sd-box.yaml:4: template: no template named 'gpu'" in result.stderr
    assert "gpu-base" in result.stderr


def test_invalid_template_named_as_cause(make_project):
    text = GOOD_ENVIRONMENT.replace("owner: alice\n", "owner: alice\ntemplate: gpu\n")
    root = make_project({"sd-box": text}, templates={"gpu": "instance:\n  typ: g5.xlarge\n"})

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 1
    assert "gpu.yaml" in result.stderr
    assert "no template named" not in result.stderr
    assert "sd-box.yaml:4: template: template 'gpu' is invalid" in result.stderr
    assert "fix the error in templates/gpu.yaml first" in result.stderr


def test_unknown_key_in_project_file(make_project):
    root = make_project(settings="region: us-east-1\nstate:\n  backnd: local\n")

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 1
    assert "envctl.yaml:3: state.backnd: unknown key; did you mean 'backend'?" in result.stderr


def test_world_ssh_in_project_file(make_project):
    root = make_project(settings="region: us-east-1\nssh:\n  allowed_cidrs: [0.0.0.0/0]\n")

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 1
    assert "envctl.yaml:2: ssh: allowed_cidrs opens SSH to the world" in result.stderr
    assert "allow_world_ssh: true instead" in result.stderr


def test_missing_project_file(tmp_path):
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "validate"])

    assert result.exit_code == 1
    assert "no envctl.yaml here or in any parent folder" in result.stderr


@pytest.mark.parametrize("value", ["sometimes", '"no"', "0"])
def test_report_activity_must_be_boolean(make_project, value):
    root = make_project(settings=f"region: us-east-1\nautostop:\n  report_activity: {value}\n")

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 1
    assert "envctl.yaml:3: autostop.report_activity: Input should be a valid boolean" in (
        result.stderr)
