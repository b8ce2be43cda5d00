"""The user's own settings: $XDG_CONFIG_HOME/envctl/config.yaml, never part of a project.

They hold who the user is, their SSH key, dotfiles and editor. envctl applies the personal
parts (dotfiles, setup script, SSH key) only to environments the user owns, on top of the
shared definition, and never writes them into a project file.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from envctl.definitions.models import DNS_LABEL, Strict
from envctl.definitions.spec import EnvironmentSpec
from envctl.definitions.yamlfile import read_yaml, validate
from envctl.errors import DefinitionError
from envctl.instance.personal import PersonalLayer

CONFIG_FILE = "config.yaml"
# ImportKeyPair takes RSA and ED25519 keys (EC2 API Reference, ImportKeyPair), and EC2
# Instance Connect takes ED25519 keys but not ed25519-sk ones (aws/aws-sdk issue 212).
KEY_TYPES = ("ssh-ed25519", "ssh-rsa")
# Any OpenSSH key line, such as "ssh-dss AAAA...", as opposed to a file name.
KEY_TEXT = re.compile(r"^\s*(ssh|ecdsa|sk)-[A-Za-z0-9@.-]+\s+\S")
POSIX_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
EDITORS = ("code", "cursor")


class DotfilesSettings(Strict):
    """The user's dotfiles repository, cloned to ~/.dotfiles on their environments."""

    url: str = Field(description="Clone URL, such as https://github.com/alice/dotfiles.")
    ref: str = Field("HEAD", description="Branch, tag or commit to check out.")


class UserSettings(Strict):
    """The user's settings file, ~/.config/envctl/config.yaml."""

    name: str | None = Field(
        None,
        description="Your name as environment owners write it, such as alice. `envctl create` "
        "sets it as the owner, and the settings below apply to environments with this owner.",
    )
    ssh_public_key: str | None = Field(
        None,
        description="Your SSH public key (ssh-ed25519 or ssh-rsa): a file such as "
        "~/.ssh/id_ed25519.pub, or the key text itself.",
    )
    ssh_private_key: str | None = Field(
        None,
        description="The private key file that ssh uses. Defaults to the public key file "
        "without .pub.",
    )
    dotfiles: DotfilesSettings | None = None
    setup: str | None = Field(
        None, description="Shell script run as you on your environments, after the dotfiles."
    )
    editor: Literal["code", "cursor"] | None = Field(
        None, description="Editor that `envctl open` starts: code (VS Code) or cursor."
    )
    remote_user: str | None = Field(
        None,
        description="Login user on the instance. Defaults to the image's user: ubuntu, or "
        "ec2-user on Amazon Linux.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not DNS_LABEL.match(value):
            raise ValueError(f"{value!r} is not an owner name; use lowercase letters, digits "
                             "and '-', as in environment files")
        return value

    @field_validator("remote_user")
    @classmethod
    def _remote_user(cls, value: str | None) -> str | None:
        if value is not None and not POSIX_USER.match(value):
            raise ValueError(f"{value!r} is not a Linux user name")
        return value


def config_dir() -> Path:
    """Return envctl's folder under $XDG_CONFIG_HOME, or under ~/.config when that is unset."""
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    # The XDG Base Directory specification treats a relative path as invalid and ignored.
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "envctl"


def config_path() -> Path:
    return config_dir() / CONFIG_FILE


def load_user_settings(path: Path | None = None) -> UserSettings:
    """Read the settings file; a missing file means no settings."""
    path = path or config_path()
    if not path.exists():
        return UserSettings()
    return validate(UserSettings, read_yaml(path), path)


def owns(settings: UserSettings, spec: EnvironmentSpec) -> bool:
    """True when these settings belong to the environment's owner."""
    return settings.name is not None and settings.name == spec.owner


def personal_layer(spec: EnvironmentSpec, settings: UserSettings | None) -> PersonalLayer | None:
    """Return the owner's dotfiles and setup for spec, or None when the user is not the owner.

    Only the owner's own settings apply: a teammate who plans the environment has a
    different file, so their dotfiles never reach someone else's box.
    """
    if settings is None or not owns(settings, spec):
        return None
    if settings.dotfiles is None and not settings.setup:
        return None
    dotfiles = settings.dotfiles
    return PersonalLayer(
        dotfiles_url=dotfiles.url if dotfiles else None,
        dotfiles_ref=dotfiles.ref if dotfiles else "HEAD",
        setup=settings.setup,
    )


def owner_public_key(spec: EnvironmentSpec, settings: UserSettings | None) -> str | None:
    """Return the owner's SSH public key for the stack's key pair, or None."""
    if settings is None or not owns(settings, spec):
        return None
    return public_key(settings)


def public_key(settings: UserSettings) -> str | None:
    """Return the user's public key as one OpenSSH line, reading the file it names."""
    value = settings.ssh_public_key
    if value is None:
        return None
    if KEY_TEXT.match(value):
        return _checked_key(value.strip(), "ssh_public_key")
    path = Path(value).expanduser()
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise DefinitionError(str(config_path()), None, "ssh_public_key",
                              f"cannot read {path} ({error.strerror})",
                              "point it at your .pub file or paste the key itself") from None
    return _checked_key(text, f"ssh_public_key ({path})")


def identity_file(settings: UserSettings) -> Path | None:
    """Return the private key file ssh should offer, or None to leave it to ssh's defaults."""
    if settings.ssh_private_key:
        return Path(settings.ssh_private_key).expanduser()
    value = settings.ssh_public_key
    if value and not KEY_TEXT.match(value) and value.endswith(".pub"):
        return Path(value.removesuffix(".pub")).expanduser()
    return None


def _checked_key(text: str, field: str) -> str:
    """Check that text is one OpenSSH public key line of a type EC2 accepts."""
    parts = text.split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise DefinitionError(str(config_path()), None, field,
                              "not an ssh-ed25519 or ssh-rsa public key",
                              "use the one line in your .pub file, such as ~/.ssh/id_ed25519.pub")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        blob = b""
    # The key blob starts with its own type name, length-prefixed.
    if blob[4:4 + len(parts[0])] != parts[0].encode():
        raise DefinitionError(str(config_path()), None, field,
                              "the key data is damaged", "copy the whole line of the .pub file")
    return " ".join(parts)
