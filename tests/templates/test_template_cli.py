"""envctl template ls, show, share and import through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from envctl.cli.main import cli
from envctl.templating.catalog import shipped_templates

SHIPPED = {"stable-diffusion", "dreambooth", "whisper", "clip-captioning", "tensorflow",
           "pytorch", "go", "rust"}

OWN_TEMPLATE = """\
description: The team's own PyTorch box
instance:
  type: g5.xlarge
image:
  ami: ami-0123456789abcdef0
"""


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_ls_outside_project_lists_shipped(tmp_path):
    result = run("--project", str(tmp_path), "--output", "json", "template", "ls")

    assert result.exit_code == 0, result.stderr
    listed = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(listed) == SHIPPED
    assert {row["origin"] for row in listed.values()} == {"shipped"}
    assert all(row["description"] for row in listed.values())


def test_ls_project_template_hides_shipped(make_project):
    root = make_project(templates={"pytorch": OWN_TEMPLATE, "team-cpu": OWN_TEMPLATE})

    result = run("--project", str(root), "template", "ls")

    assert result.exit_code == 0, result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    assert rows["pytorch"] == "project"
    assert rows["team-cpu"] == "project"
    assert rows["whisper"] == "shipped"


def test_show_prints_file(tmp_path):
    result = run("--project", str(tmp_path), "template", "show", "whisper")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == shipped_templates()["whisper"].text.rstrip("\n") + "\n"


def test_show_unknown_suggests_name(tmp_path):
    result = run("--project", str(tmp_path), "template", "show", "whispr")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no template named 'whispr'" in result.stderr
    assert "did you mean 'whisper'?" in result.stderr


def test_share_then_import_writes_same_file(make_project, tmp_path):
    source = make_project(templates={"team-gpu": OWN_TEMPLATE})
    target = tmp_path / "other"
    target.mkdir()
    (target / "envctl.yaml").write_text("region: us-east-1\n")

    shared = run("--project", str(source), "template", "share", "team-gpu")
    imported = run("--project", str(target), "template", "import", shared.stdout.strip())

    assert shared.exit_code == 0, shared.stderr
    assert imported.exit_code == 0, imported.stderr
    assert (target / "templates" / "team-gpu.yaml").read_bytes() == OWN_TEMPLATE.encode()
    assert "envctl template show team-gpu" in imported.stdout


def test_import_same_template_again_is_no_change(make_project):
    root = make_project(templates={"team-gpu": OWN_TEMPLATE})
    link = run("--project", str(root), "template", "share", "team-gpu").stdout.strip()

    again = run("--project", str(root), "--output", "json", "template", "import", link)

    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["changed"] is False


def test_import_keeps_different_file_without_force(make_project):
    root = make_project(templates={"whisper": OWN_TEMPLATE})
    link = run("--project", str(root), "template", "share", "clip-captioning").stdout.strip()

    refused = run("--project", str(root), "template", "import", link, "--name", "whisper")
    renamed = run("--project", str(root), "template", "import", link, "--name", "clip-copy")
    forced = run("--project", str(root), "template", "import", link, "--name", "whisper",
                 "--force")

    assert refused.exit_code == 1
    assert "--force" in refused.stderr
    assert renamed.exit_code == 0, renamed.stderr
    assert forced.exit_code == 0, forced.stderr
    text = shipped_templates()["clip-captioning"].text
    assert (root / "templates" / "whisper.yaml").read_text() == text
    assert (root / "templates" / "clip-copy.yaml").read_text() == text


def test_import_damaged_link_fails_in_one_line(make_project):
    root = make_project()
    link = run("--project", str(root), "template", "share", "rust").stdout.strip()

    result = run("--project", str(root), "template", "import", link[:-20])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert not list((root / "templates").iterdir())


def test_template_commands_skip_heavy_imports(make_project, settings_file):
    settings_file("name: alice\n")
    root = make_project()
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from envctl.cli.main import cli\n"
        "for args in (['template', 'ls'], ['template', 'share', 'go'], "
        "['create', 'box', '--template', 'go']):\n"
        "    result = CliRunner().invoke(cli, ['--project', sys.argv[1], *args])\n"
        "    assert result.exit_code == 0, result.output\n"
        "heavy = ('cdktn', 'cdktn_provider_aws', 'jsii', 'envctl.cdk', 'boto3', 'hvac')\n"
        "print(','.join(name for name in heavy if name in sys.modules))\n"
    )

    completed = subprocess.run([sys.executable, "-c", probe, str(root)], capture_output=True,
                               text=True, check=True)

    assert completed.stdout.strip() == ""
