"""The user's settings file: where it is, what it holds, and whom it applies to."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from tests_support import GOOD_ENVIRONMENT

from envctl.definitions.loader import load_project
from envctl.errors import DefinitionError
from envctl.instance.personal import PersonalLayer
from envctl.personal import (
    config_path,
    identity_file,
    load_user_settings,
    owner_public_key,
    personal_layer,
    public_key,
)

ED25519 = "ssh-ed25519 " + base64.b64encode(
    b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(32))).decode() + " alice@laptop"


@pytest.fixture
def spec(make_project):
    """The sd-box environment, owned by alice."""
    return load_project(make_project({"sd-box": GOOD_ENVIRONMENT})).environment("sd-box")


def test_path_under_home_by_default(home):
    assert config_path() == home / ".config" / "envctl" / "config.yaml"


def test_path_under_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))

    assert config_path() == tmp_path / "xdg" / "envctl" / "config.yaml"


def test_relative_xdg_config_home_ignored(home, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")

    assert config_path() == home / ".config" / "envctl" / "config.yaml"


def test_missing_file_means_no_settings():
    settings = load_user_settings()

    assert settings.name is None
    assert settings.dotfiles is None


def test_unknown_key_names_line(settings_file):
    path = settings_file("name: alice\neditr: code\n")

    with pytest.raises(DefinitionError) as raised:
        load_user_settings()

    assert raised.value.path == str(path)
    assert raised.value.line == 2
    assert "did you mean 'editor'?" in str(raised.value)


def test_owner_name_must_be_dns_label(settings_file):
    settings_file("name: Alice Smith\n")

    with pytest.raises(DefinitionError, match="not an owner name"):
        load_user_settings()


def test_personal_layer_only_for_owner(settings_file, spec):
    settings_file("name: alice\ndotfiles:\n  url: https://github.com/alice/dotfiles\n"
                  "  ref: main\nsetup: echo hi\n")
    alice = load_user_settings()
    bob = alice.model_copy(update={"name": "bob"})

    assert personal_layer(spec, alice) == PersonalLayer(
        dotfiles_url="https://github.com/alice/dotfiles", dotfiles_ref="main", setup="echo hi")
    assert personal_layer(spec, bob) is None
    assert personal_layer(spec, None) is None


def test_public_key_from_file(settings_file, home, spec):
    key_file = home / ".ssh" / "id_ed25519.pub"
    key_file.parent.mkdir()
    key_file.write_text(ED25519 + "\n")
    settings_file("name: alice\nssh_public_key: ~/.ssh/id_ed25519.pub\n")
    settings = load_user_settings()

    assert public_key(settings) == ED25519
    assert owner_public_key(spec, settings) == ED25519
    assert identity_file(settings) == home / ".ssh" / "id_ed25519"


def test_public_key_inline(settings_file):
    settings_file(f"name: alice\nssh_public_key: {ED25519}\n"
                  "ssh_private_key: ~/keys/work\n")
    settings = load_user_settings()

    assert public_key(settings) == ED25519
    assert identity_file(settings) == Path.home() / "keys" / "work"


def test_public_key_not_for_other_owner(settings_file, spec):
    settings_file(f"name: bob\nssh_public_key: {ED25519}\n")

    assert owner_public_key(spec, load_user_settings()) is None


@pytest.mark.parametrize(("value", "problem"), [
    ("ssh-dss AAAAB3NzaC1kc3M=", "not an ssh-ed25519 or ssh-rsa public key"),
    ("ecdsa-sha2-nistp256 AAAAE2VjZHNh", "not an ssh-ed25519 or ssh-rsa public key"),
    ("ssh-ed25519 AAAAC3NzaC1yc2E=", "damaged"),
    ("ssh-ed25519 not-base64!", "damaged"),
])
def test_bad_public_key_rejected(settings_file, value, problem):
    settings_file(f"ssh_public_key: {value}\n")

    with pytest.raises(DefinitionError, match=problem):
        public_key(load_user_settings())


def test_missing_key_file_rejected(settings_file):
    settings_file("ssh_public_key: ~/.ssh/none.pub\n")

    with pytest.raises(DefinitionError, match="cannot read"):
        public_key(load_user_settings())
