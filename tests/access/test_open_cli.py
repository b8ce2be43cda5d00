"""envctl open on the sandbox: the Host entry, the one Include line, and the editor's arguments.

The editor is a recording program on PATH, and `ssh -G` only parses configuration, so
nothing connects anywhere.
"""

from __future__ import annotations

from access_support import describe, launch, ssh_settings
from click.testing import CliRunner

from envctl.cli.main import cli
from envctl.definitions.loader import load_project
from envctl.sshconfig import include_line, ssh_config_file, user_ssh_config

ALICE = "name: alice\nssh_public_key: ~/.ssh/id_ed25519.pub\n"
USER_CONFIG = b"Host work\n  HostName 192.0.2.10\n# keep me\n"


def open_environment(project, *args):
    return CliRunner().invoke(cli, ["--project", str(project), "open", "sd-box", "--sandbox",
                                    *args])


def existing_user_config():
    user_ssh_config().parent.mkdir(mode=0o700, exist_ok=True)
    user_ssh_config().write_bytes(USER_CONFIG)


def test_open_writes_host_and_starts_editor(cloud_project, fresh_cloud, recorders, home,
                                            settings_file):
    settings_file(ALICE)
    recorders.install("code")
    existing_user_config()
    instance = launch(fresh_cloud, load_project(cloud_project).environment("sd-box"))

    result = open_environment(cloud_project, "--yes")

    assert result.exit_code == 0, result.stderr
    assert recorders.calls("code") == [["--remote", "ssh-remote+envctl-sd-box",
                                        "/data/workspace"]]
    settings = ssh_settings(user_ssh_config(), "envctl-sd-box")
    assert settings["hostname"] == [instance["PublicIpAddress"]]
    assert settings["user"] == ["ubuntu"]
    assert settings["identityfile"] == [str(home / ".ssh" / "id_ed25519")]
    assert settings["hostkeyalias"] == [f"envctl-{instance['InstanceId']}"]


def test_user_config_changes_by_one_line_only(cloud_project, fresh_cloud, recorders,
                                              settings_file):
    settings_file(ALICE)
    recorders.install("code")
    existing_user_config()
    launch(fresh_cloud, load_project(cloud_project).environment("sd-box"))

    first = open_environment(cloud_project, "--yes")
    second = open_environment(cloud_project, "--yes")

    assert first.exit_code == 0, first.stderr
    assert second.exit_code == 0, second.stderr
    assert user_ssh_config().read_bytes() == include_line(ssh_config_file()).encode() + USER_CONFIG
    assert "Added `Include" in first.stderr
    assert "Added" not in second.stderr


def test_include_needs_consent(cloud_project, fresh_cloud, recorders, settings_file):
    settings_file(ALICE)
    recorders.install("code")
    existing_user_config()
    launch(fresh_cloud, load_project(cloud_project).environment("sd-box"))

    result = open_environment(cloud_project)

    assert result.exit_code == 1
    assert "--yes" in result.stderr
    assert user_ssh_config().read_bytes() == USER_CONFIG
    assert recorders.calls("code") == []


def test_editor_from_settings_and_option(cloud_project, fresh_cloud, recorders, settings_file):
    settings_file(ALICE + "editor: cursor\n")
    recorders.install("code")
    recorders.install("cursor")
    launch(fresh_cloud, load_project(cloud_project).environment("sd-box"))

    from_settings = open_environment(cloud_project, "--yes")
    from_option = open_environment(cloud_project, "--yes", "--editor", "code")

    assert from_settings.exit_code == 0, from_settings.stderr
    assert from_option.exit_code == 0, from_option.stderr
    assert recorders.calls("cursor") == [["--remote", "ssh-remote+envctl-sd-box",
                                          "/data/workspace"]]
    assert len(recorders.calls("code")) == 1


def test_missing_editor_named(cloud_project, fresh_cloud, recorders, settings_file):
    settings_file(ALICE)
    launch(fresh_cloud, load_project(cloud_project).environment("sd-box"))

    result = open_environment(cloud_project, "--yes", "--editor", "cursor")

    assert result.exit_code == 1
    assert "cursor not found on PATH" in result.stderr


def test_editor_failure_reported(cloud_project, fresh_cloud, recorders, settings_file):
    settings_file(ALICE)
    recorders.install("code", exit_status=3)
    launch(fresh_cloud, load_project(cloud_project).environment("sd-box"))

    result = open_environment(cloud_project, "--yes")

    assert result.exit_code == 1
    assert "exited with status 3" in result.stderr


def test_stopped_environment_started_with_yes(cloud_project, fresh_cloud, recorders,
                                              settings_file):
    settings_file(ALICE)
    recorders.install("code")
    instance = launch(fresh_cloud, load_project(cloud_project).environment("sd-box"),
                      stopped=True)

    result = open_environment(cloud_project, "--yes")

    assert result.exit_code == 0, result.stderr
    assert describe(fresh_cloud, instance["InstanceId"])["State"]["Name"] == "running"
    assert "sd-box: running" in result.stderr
    assert len(recorders.calls("code")) == 1


def test_stopped_environment_not_started_without_consent(cloud_project, fresh_cloud,
                                                         recorders, settings_file):
    settings_file(ALICE)
    recorders.install("code")
    instance = launch(fresh_cloud, load_project(cloud_project).environment("sd-box"),
                      stopped=True)

    result = open_environment(cloud_project)

    assert result.exit_code == 1
    assert "sd-box is stopped. Start it?" in result.stderr
    assert "--yes" in result.stderr
    assert describe(fresh_cloud, instance["InstanceId"])["State"]["Name"] == "stopped"
    assert recorders.calls("code") == []


def test_absent_environment_points_to_apply(cloud_project, fresh_cloud, recorders,
                                            settings_file):
    settings_file(ALICE)
    recorders.install("code")

    result = open_environment(cloud_project, "--yes")

    assert result.exit_code == 1
    assert "envctl apply sd-box" in result.stderr


def test_teammate_key_sent_with_instance_connect(cloud_project, fresh_cloud, recorders,
                                                 settings_file, home):
    settings_file(ALICE.replace("alice", "bob"))
    recorders.install("code")
    launch(fresh_cloud, load_project(cloud_project).environment("sd-box"))

    result = open_environment(cloud_project, "--yes")

    assert result.exit_code == 0, result.stderr
    assert "EC2 Instance Connect" in result.stderr
    settings = ssh_settings(user_ssh_config(), "envctl-sd-box")
    assert settings["identityfile"] == [str(home / ".ssh" / "id_ed25519")]


def test_owner_key_not_sent(cloud_project, fresh_cloud, recorders, settings_file):
    settings_file(ALICE)
    recorders.install("code")
    launch(fresh_cloud, load_project(cloud_project).environment("sd-box"))

    result = open_environment(cloud_project, "--yes")

    assert result.exit_code == 0, result.stderr
    assert "Instance Connect" not in result.stderr
