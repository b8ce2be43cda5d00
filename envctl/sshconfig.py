"""SSH access to environments: Host entries in a file envctl owns, and the line that includes it.

envctl writes one Host entry per environment into its own ssh config file. The user's
~/.ssh/config gets a single `Include` line for that file, added once with their consent, and
is otherwise never changed, so `ssh envctl-NAME` and editors' remote SSH both find the hosts.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import CloudError, EnvctlError
from envctl.personal import UserSettings, config_dir, identity_file, owns, public_key

if TYPE_CHECKING:
    from envctl.inventory import EnvironmentStatus
    from envctl.workspace import Workspace

HOST_PREFIX = "envctl-"
HEADER = (
    "# Written by envctl: `envctl open`, `envctl ssh` and `envctl port-forward` rewrite this\n"
    "# file, so edits here are lost. ~/.ssh/config includes it.\n"
)
# Characters ssh_config cannot carry inside a double-quoted argument.
UNQUOTABLE = re.compile(r'["\n\r\0]')
AMAZON_LINUX = ("amazon-linux", "amzn", "al2023")


@dataclass(frozen=True)
class SshHost:
    """One Host entry: how ssh reaches an environment's instance."""

    alias: str
    hostname: str
    user: str
    host_key_alias: str
    known_hosts: Path
    identity_file: Path | None = None


def host_alias(spec: EnvironmentSpec) -> str:
    return f"{HOST_PREFIX}{spec.name}"


def ssh_config_file() -> Path:
    """Return the ssh config file that envctl owns."""
    return config_dir() / "ssh_config"


def user_ssh_config() -> Path:
    return Path.home() / ".ssh" / "config"


def login_user(spec: EnvironmentSpec, settings: UserSettings) -> str:
    """Return the user to log in as: the settings' remote_user, else the image's default user.

    NOTE: an image given only as a fixed AMI id carries no hint of its distribution, so such
    an environment gets ubuntu unless remote_user sets another user.
    """
    if settings.remote_user:
        return settings.remote_user
    source = " ".join(filter(None, (spec.image.ssm_parameter, spec.image.name))).lower()
    return "ec2-user" if any(word in source for word in AMAZON_LINUX) else "ubuntu"


def workspace_folder(spec: EnvironmentSpec) -> str:
    """Return the workspace on the data volume, where the boot clones the repositories."""
    return f"{spec.volume.mount_path}/workspace"


def host_for(spec: EnvironmentSpec, status: EnvironmentStatus,
             settings: UserSettings) -> SshHost:
    """Build the Host entry of a running environment."""
    if status.public_ip is None or status.instance_id is None:
        raise EnvctlError(f"{spec.name}: the instance has no public IP address; check that its "
                          "subnet assigns public addresses")
    return SshHost(
        alias=host_alias(spec),
        hostname=status.public_ip,
        user=login_user(spec, settings),
        # Keyed by instance: a stop and start keeps the host key under a new address, and an
        # instance swap brings a new key that accept-new records without a warning.
        host_key_alias=f"{HOST_PREFIX}{status.instance_id}",
        known_hosts=config_dir() / "known_hosts",
        identity_file=identity_file(settings),
    )


def send_public_key(workspace: Workspace, spec: EnvironmentSpec, status: EnvironmentStatus,
                    settings: UserSettings) -> bool:
    """Push the user's key with EC2 Instance Connect when the stack's key pair is not theirs.

    The owner's key is installed through the stack's key pair. Anyone else who may call
    SendSSHPublicKey gets 60 seconds to connect with their own key. Returns True when a key
    was sent.
    """
    key = public_key(settings)
    if key is None or owns(settings, spec):
        return False
    from botocore.exceptions import BotoCoreError, ClientError

    client = workspace.client("ec2-instance-connect", spec.region)
    try:
        client.send_ssh_public_key(InstanceId=status.instance_id,
                                   InstanceOSUser=login_user(spec, settings),
                                   SSHPublicKey=key,
                                   AvailabilityZone=spec.availability_zone)
    except (BotoCoreError, ClientError) as error:
        raise CloudError(f"{spec.name}: EC2 Instance Connect did not accept your key ({error}); "
                         "ask the owner to connect, or get ec2-instance-connect:"
                         "SendSSHPublicKey permission") from None
    return True


def render_host(host: SshHost, spec: EnvironmentSpec) -> str:
    """Render one Host block for the envctl-owned file."""
    lines = [
        f"# {spec.name} ({spec.id})",
        f"Host {host.alias}",
        f"    HostName {host.hostname}",
        f"    User {host.user}",
        f"    HostKeyAlias {host.host_key_alias}",
        f"    UserKnownHostsFile {_quoted(host.known_hosts)}",
        "    StrictHostKeyChecking accept-new",
        "    ServerAliveInterval 60",
    ]
    if host.identity_file is not None:
        lines += [f"    IdentityFile {_quoted(host.identity_file)}", "    IdentitiesOnly yes"]
    return "\n".join(lines) + "\n"


def write_host(path: Path, host: SshHost, spec: EnvironmentSpec) -> None:
    """Add or replace the environment's block in envctl's file; other blocks stay as they were."""
    blocks = {}
    if path.exists():
        blocks = _blocks(path.read_text(encoding="utf-8"))
    blocks[host.alias] = render_host(host, spec)
    text = HEADER + "".join(f"\n{blocks[alias]}" for alias in sorted(blocks))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _replace(path, text.encode(), mode=0o600)


def includes(user_config: Path, envctl_config: Path) -> bool:
    """True when user_config has an Include directive that names envctl_config."""
    if not user_config.exists():
        return False
    target = os.path.realpath(envctl_config)
    for line in user_config.read_text(encoding="utf-8", errors="replace").splitlines():
        match = re.match(r"\s*include(\s*=\s*|\s+)(.*)$", line, re.IGNORECASE)
        if not match:
            continue
        for argument in _arguments(match.group(2)):
            if target in (os.path.realpath(name) for name in _included(argument)):
                return True
    return False


def include_line(envctl_config: Path) -> str:
    # An absolute path: ssh expands ~ from the password database, which may differ from $HOME.
    return f"Include {_quoted(envctl_config)}\n"


def add_include(user_config: Path, envctl_config: Path) -> None:
    """Put the Include line first in user_config, creating the file when missing.

    First, because an Include after a Host or Match line would apply only inside that block.
    The rest of the file stays byte for byte, and a symlinked config is updated at its target.
    """
    line = include_line(envctl_config).encode()
    if not user_config.exists():
        user_config.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _replace(user_config, line, mode=0o600)
        return
    real = Path(os.path.realpath(user_config))
    _replace(real, line + real.read_bytes(), mode=real.stat().st_mode & 0o7777)


def _blocks(text: str) -> dict[str, str]:
    """Split envctl's own file into its Host blocks, keyed by alias."""
    blocks = {}
    for chunk in text.split("\n\n"):
        match = re.search(r"^Host (\S+)$", chunk, re.MULTILINE)
        if match:
            blocks[match.group(1)] = chunk.strip("\n") + "\n"
    return blocks


def _arguments(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return []


def _included(argument: str) -> list[str]:
    """Expand one Include argument the way ssh does: ~, paths relative to ~/.ssh, globs."""
    path = os.path.expanduser(argument)
    if not os.path.isabs(path):
        path = str(Path.home() / ".ssh" / path)
    return glob.glob(path) or [path]


def _quoted(path: Path) -> str:
    text = str(path)
    if UNQUOTABLE.search(text):
        raise EnvctlError(f"{text!r} cannot be written into an ssh config file; "
                          "use a path without quotes or line breaks")
    return f'"{text}"' if re.search(r"\s", text) else text


def _replace(path: Path, content: bytes, mode: int) -> None:
    """Write content to path atomically: a crash leaves the old file or the new one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
