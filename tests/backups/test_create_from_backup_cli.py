"""`envctl create --from-snapshot/--clone`: the options it rejects, before any cloud call.

test_backups_e2e runs both against the sandbox; these cases stop before the cloud, so they
need none.
"""

from __future__ import annotations

import pytest
from backups_support import write_project
from click.testing import CliRunner

from envctl.cli.main import cli


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Point XDG_CONFIG_HOME at a folder of its own; return a writer for config.yaml."""
    folder = tmp_path / "xdg"
    (folder / "envctl").mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    def write(text: str) -> None:
        (folder / "envctl" / "config.yaml").write_text(text)

    return write


def create(root, *args):
    return CliRunner().invoke(cli, ["--project", str(root), "create", "backup-copy", *args])


def environment_files(root):
    return sorted(path.name for path in (root / "environments").iterdir())


@pytest.mark.parametrize("options,named", [
    (["--template", "whisper"], "--template"),
    (["--type", "g5.xlarge"], "--type"),
    (["--gpu", "A10G"], "--gpu"),
])
def test_template_options_rejected_with_clone(tmp_path, settings, options, named):
    settings("name: bob\n")
    root = write_project(tmp_path / "project")

    result = create(root, "--clone", "backup-box", *options)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {named} cannot be combined with --from-snapshot")
    assert "envctl scale backup-copy --type TYPE" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert environment_files(root) == ["backup-box.yaml"]


def test_snapshot_and_clone_together_rejected(tmp_path, settings):
    settings("name: bob\n")
    root = write_project(tmp_path / "project")

    result = create(root, "--clone", "backup-box", "--from-snapshot", "snap-0123456789abcdef0")

    assert result.exit_code == 1
    assert "pass either --from-snapshot ID or --clone ENV, not both" in result.stderr
    assert environment_files(root) == ["backup-box.yaml"]


def test_copy_needs_owner_name(tmp_path, settings):
    settings("editor: code\n")
    root = write_project(tmp_path / "project")

    result = create(root, "--from-snapshot", "snap-0123456789abcdef0")

    assert result.exit_code == 1
    assert "does not set name; add a line such as `name: alice`" in result.stderr
    assert environment_files(root) == ["backup-box.yaml"]


def test_create_without_source_names_every_option(tmp_path, settings):
    settings("name: bob\n")
    root = write_project(tmp_path / "project")

    result = create(root)

    assert result.exit_code == 1
    assert "--template TEMPLATE" in result.stderr
    assert "--from-snapshot ID or --clone ENV" in result.stderr


def test_help_shows_snapshot_options():
    result = CliRunner().invoke(cli, ["create", "--help"])

    assert result.exit_code == 0
    assert "--from-snapshot ID" in result.stdout
    assert "--clone ENV" in result.stdout
    assert "--sandbox" in result.stdout
