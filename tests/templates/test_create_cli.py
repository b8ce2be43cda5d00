"""envctl create: a new environment file from a template, owned by the user in their settings."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from envctl.cli.main import cli
from envctl.definitions.loader import load_project
from envctl.definitions.models import ENVIRONMENT_ID
from envctl.templating.catalog import shipped_templates

PERSONAL = """\
name: alice
dotfiles:
  url: https://github.com/alice/dotfiles
setup: echo personal-marker
editor: cursor
"""


def create(root, *args):
    return CliRunner().invoke(cli, ["--project", str(root), "--output", "json", "create", *args])


def test_create_writes_environment_from_shipped_template(make_project, settings_file):
    settings_file(PERSONAL)
    root = make_project()

    result = create(root, "my-whisper", "--template", "whisper")

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert ENVIRONMENT_ID.match(data["id"])
    assert data["owner"] == "alice"
    spec = load_project(root).environment("my-whisper")
    assert spec.id == data["id"]
    assert spec.owner == "alice"
    assert spec.template == "whisper"
    assert spec.instance_type == "g4dn.xlarge"
    assert [repo.url for repo in spec.repos] == ["https://github.com/openai/whisper"]


def test_shipped_template_copied_into_project(make_project, settings_file):
    settings_file(PERSONAL)
    root = make_project()

    result = create(root, "box", "--template", "rust")

    assert result.exit_code == 0, result.stderr
    assert (root / "templates" / "rust.yaml").read_text() == shipped_templates()["rust"].text
    assert sorted(json.loads(result.stdout)["files"]) == sorted(
        [str(root / "templates" / "rust.yaml"), str(root / "environments" / "box.yaml")])


def test_project_template_used_as_is(make_project, settings_file):
    settings_file(PERSONAL)
    own = shipped_templates()["go"].text.replace("t3.large", "t3.xlarge")
    root = make_project(templates={"go": own})

    result = create(root, "box", "--template", "go")

    assert result.exit_code == 0, result.stderr
    assert (root / "templates" / "go.yaml").read_text() == own
    assert load_project(root).environment("box").instance_type == "t3.xlarge"


def test_type_overrides_template(make_project, settings_file):
    settings_file(PERSONAL)
    root = make_project()

    result = create(root, "big", "--template", "pytorch", "--type", "g5.2xlarge")

    assert result.exit_code == 0, result.stderr
    assert load_project(root).environment("big").instance_type == "g5.2xlarge"


def test_file_holds_nothing_personal(make_project, settings_file):
    settings_file(PERSONAL)
    root = make_project()

    create(root, "box", "--template", "pytorch")

    text = (root / "environments" / "box.yaml").read_text()
    assert re.search(r"^id: env-[0-9a-f]{8}$", text, re.MULTILINE)
    for personal in ("dotfiles", "personal-marker", "cursor"):
        assert personal not in text


def test_ids_are_new_each_time(make_project, settings_file):
    settings_file(PERSONAL)
    root = make_project()

    first = json.loads(create(root, "one", "--template", "go").stdout)["id"]
    second = json.loads(create(root, "two", "--template", "go").stdout)["id"]

    assert first != second


def test_unknown_type_rejected_and_nothing_left(make_project, settings_file):
    settings_file(PERSONAL)
    root = make_project()

    result = create(root, "box", "--template", "go", "--type", "t3.larg")

    assert result.exit_code == 1
    assert "unknown instance type 't3.larg'" in result.stderr
    assert not (root / "environments" / "box.yaml").exists()
    assert not (root / "templates" / "go.yaml").exists()


def test_owner_needs_name_in_settings(make_project, home):
    root = make_project()

    result = create(root, "box", "--template", "go")

    assert result.exit_code == 1
    assert "name" in result.stderr
    assert str(home / ".config" / "envctl" / "config.yaml") in result.stderr


def test_xdg_config_home_honoured(make_project, tmp_path, monkeypatch):
    config = tmp_path / "xdg" / "envctl" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("name: carol\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    root = make_project()

    result = create(root, "box", "--template", "go")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["owner"] == "carol"


def test_existing_name_rejected(make_project, settings_file):
    settings_file(PERSONAL)
    root = make_project()
    create(root, "box", "--template", "go")
    before = (root / "environments" / "box.yaml").read_text()

    again = create(root, "box", "--template", "rust")

    assert again.exit_code == 1
    assert "already exists" in again.stderr
    assert (root / "environments" / "box.yaml").read_text() == before


def test_invalid_name_rejected(make_project, settings_file):
    settings_file(PERSONAL)
    root = make_project()

    result = create(root, "My_Box", "--template", "go")

    assert result.exit_code == 1
    assert "not a DNS label" in result.stderr


def test_template_required(make_project, settings_file):
    settings_file(PERSONAL)

    result = create(make_project(), "box")

    assert result.exit_code == 1
    assert "--template" in result.stderr
