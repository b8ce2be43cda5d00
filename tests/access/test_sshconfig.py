"""envctl's ssh config file and the one Include line in ~/.ssh/config, checked with `ssh -G`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from access_support import ssh_settings

from envctl.definitions.loader import load_project
from envctl.personal import UserSettings
from envctl.sshconfig import (
    SshHost,
    add_include,
    include_line,
    includes,
    login_user,
    ssh_config_file,
    user_ssh_config,
    write_host,
)

# A user's own config with comments, odd spacing, CRLF line ends and no final newline.
USER_CONFIG = (b"# my hosts\r\nHost work\r\n  HostName 192.0.2.10   \r\n\r\n"
               b"Host *\n    ServerAliveInterval 30\n\tUser me")


@pytest.fixture
def spec(project):
    return load_project(project).environment("sd-box")


def host(home: Path, **changes) -> SshHost:
    fields = {
        "alias": "envctl-sd-box",
        "hostname": "198.51.100.7",
        "user": "ubuntu",
        "host_key_alias": "envctl-i-0abc",
        "known_hosts": home / ".config" / "envctl" / "known_hosts",
        "identity_file": home / ".ssh" / "id_ed25519",
        **changes,
    }
    return SshHost(**fields)


def test_ssh_reads_host_entry_through_include(home, spec):
    write_host(ssh_config_file(), host(home), spec)
    add_include(user_ssh_config(), ssh_config_file())

    settings = ssh_settings(user_ssh_config(), "envctl-sd-box")

    assert settings["hostname"] == ["198.51.100.7"]
    assert settings["user"] == ["ubuntu"]
    assert settings["identityfile"] == [str(home / ".ssh" / "id_ed25519")]
    assert settings["identitiesonly"] == ["yes"]
    assert settings["hostkeyalias"] == ["envctl-i-0abc"]
    assert settings["userknownhostsfile"] == [str(home / ".config" / "envctl" / "known_hosts")]
    assert settings["stricthostkeychecking"] == ["accept-new"]


def test_paths_with_spaces_are_quoted(home, spec):
    odd = home / "my keys" / "id_ed25519"
    write_host(ssh_config_file(), host(home, identity_file=odd), spec)

    settings = ssh_settings(ssh_config_file(), "envctl-sd-box")

    assert settings["identityfile"] == [str(odd)]


def test_without_key_ssh_keeps_its_defaults(home, spec):
    write_host(ssh_config_file(), host(home, identity_file=None), spec)

    text = ssh_config_file().read_text()

    assert "IdentityFile" not in text
    assert "IdentitiesOnly" not in text


def test_rewrite_replaces_only_that_host(home, spec, project):
    other = load_project(project).environment("sd-box").model_copy(update={"name": "other"})
    write_host(ssh_config_file(), host(home, alias="envctl-other"), other)
    write_host(ssh_config_file(), host(home), spec)

    write_host(ssh_config_file(), host(home, hostname="203.0.113.9"), spec)

    assert ssh_settings(ssh_config_file(), "envctl-sd-box")["hostname"] == ["203.0.113.9"]
    assert ssh_settings(ssh_config_file(), "envctl-other")["hostname"] == ["198.51.100.7"]
    assert ssh_config_file().read_text().count("Host envctl-sd-box\n") == 1


def test_envctl_file_is_private(home, spec):
    write_host(ssh_config_file(), host(home), spec)

    assert stat.S_IMODE(ssh_config_file().stat().st_mode) == 0o600


def test_include_changes_nothing_else(home):
    config = user_ssh_config()
    config.parent.mkdir(mode=0o700)
    config.write_bytes(USER_CONFIG)
    config.chmod(0o644)

    add_include(config, ssh_config_file())

    assert config.read_bytes() == include_line(ssh_config_file()).encode() + USER_CONFIG
    assert stat.S_IMODE(config.stat().st_mode) == 0o644


def test_include_goes_first_so_it_applies_everywhere(home, spec):
    config = user_ssh_config()
    config.parent.mkdir(mode=0o700)
    config.write_bytes(USER_CONFIG)
    write_host(ssh_config_file(), host(home), spec)

    add_include(config, ssh_config_file())

    # The user's `Host *` sets User me, but ssh takes the first value it reads.
    assert ssh_settings(config, "envctl-sd-box")["user"] == ["ubuntu"]
    assert ssh_settings(config, "work")["hostname"] == ["192.0.2.10"]


def test_include_creates_missing_config(home):
    add_include(user_ssh_config(), ssh_config_file())

    config = user_ssh_config()
    assert config.read_text() == include_line(ssh_config_file())
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700


def test_include_follows_symlinked_config(home, tmp_path):
    target = tmp_path / "dotfiles" / "ssh_config"
    target.parent.mkdir()
    target.write_bytes(USER_CONFIG)
    user_ssh_config().parent.mkdir()
    user_ssh_config().symlink_to(target)

    add_include(user_ssh_config(), ssh_config_file())

    assert user_ssh_config().is_symlink()
    assert target.read_bytes() == include_line(ssh_config_file()).encode() + USER_CONFIG


def test_include_detected_once_added(home):
    add_include(user_ssh_config(), ssh_config_file())

    assert includes(user_ssh_config(), ssh_config_file())


@pytest.mark.parametrize("line", [
    "Include {path}",
    "include={path}",
    "  INCLUDE   {path} ~/.ssh/other",
    'Include "{path}"',
    "Include ~/.config/envctl/ssh_config",
    "Include ~/.config/envctl/*",
    "Include ../.config/envctl/ssh_config",
])
def test_existing_include_recognized(home, line):
    ssh_config_file().parent.mkdir(parents=True)
    ssh_config_file().write_text("")
    user_ssh_config().parent.mkdir()
    user_ssh_config().write_text(f"Host a\n  User b\n{line.format(path=ssh_config_file())}\n")

    assert includes(user_ssh_config(), ssh_config_file())


@pytest.mark.parametrize("line", [
    "# Include {path}",
    "Include {path}.old",
    "IncludeX {path}",
])
def test_other_lines_not_taken_for_include(home, line):
    user_ssh_config().parent.mkdir()
    user_ssh_config().write_text(line.format(path=ssh_config_file()) + "\n")

    assert not includes(user_ssh_config(), ssh_config_file())


def test_missing_config_has_no_include(home):
    assert not includes(user_ssh_config(), ssh_config_file())


def test_envctl_file_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))

    assert ssh_config_file() == tmp_path / "xdg" / "envctl" / "ssh_config"
    assert include_line(ssh_config_file()) == f"Include {tmp_path}/xdg/envctl/ssh_config\n"
    assert os.path.isabs(include_line(ssh_config_file()).split()[1])


def test_login_user_from_image(spec):
    amazon = spec.image.model_copy(update={
        "ami": None, "ssm_parameter":
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"})

    assert login_user(spec, UserSettings()) == "ubuntu"
    assert login_user(spec.model_copy(update={"image": amazon}), UserSettings()) == "ec2-user"
    assert login_user(spec, UserSettings(remote_user="dev")) == "dev"
