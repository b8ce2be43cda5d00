"""Secret values in envctl's KV version 2 mount: store, list names, remove, check presence.

Nothing here reads a value back: presence comes from a secret's metadata, so envctl never
has a value that it did not receive from the user.
"""

from __future__ import annotations

from dataclasses import dataclass

from envctl.errors import VaultError
from envctl.secrets.scopes import Scope, check_name
from envctl.secrets.vault import Vault

VALUE_KEY = "value"


@dataclass(frozen=True)
class StoredSecret:
    """A secret's name and scope with the version number Vault keeps; never its value."""

    name: str
    scope: Scope
    version: int


def put_secret(vault: Vault, scope: Scope, name: str, value: str) -> StoredSecret:
    """Store value as a new version of the secret, creating envctl's mount on first use."""
    if not value:
        raise VaultError(f"the value for {name} is empty; pass it on stdin or with --from-file")
    path = scope.path(name)
    vault.ensure_kv_mount()
    with vault.calls(f"write {name} in {scope}"):
        response = vault.client.secrets.kv.v2.create_or_update_secret(
            path=path, secret={VALUE_KEY: value}, mount_point=vault.target.mount)
    return StoredSecret(name, scope, int(response["data"]["version"]))


def list_secrets(vault: Vault, scope: Scope) -> list[StoredSecret]:
    """Return the secrets stored in a scope, sorted by name; an empty or missing scope has none."""
    import hvac.exceptions

    if vault.kv_version() is None:
        return []
    with vault.calls(f"list secrets in {scope}"):
        try:
            listed = vault.client.secrets.kv.v2.list_secrets(path=scope.folder,
                                                             mount_point=vault.target.mount)
        except hvac.exceptions.InvalidPath:
            return []
    names = sorted(key for key in listed["data"]["keys"] if not key.endswith("/"))
    stored = [StoredSecret(name, scope, current_version(vault, scope.path(name)))
              for name in names]
    return [secret for secret in stored if secret.version]


def remove_secret(vault: Vault, scope: Scope, name: str) -> None:
    """Delete every version of a secret and its metadata; raise VaultError when it is absent."""
    check_name(name)
    if not current_version(vault, scope.path(name)):
        raise VaultError(f"no secret {name} in {scope}; see `envctl secrets ls --scope "
                         f"{scope.option}`")
    with vault.calls(f"delete {name} in {scope}"):
        vault.client.secrets.kv.v2.delete_metadata_and_all_versions(
            path=scope.path(name), mount_point=vault.target.mount)


def current_version(vault: Vault, path: str) -> int:
    """The readable version of the secret at path, or 0 when it is missing, deleted or
    destroyed."""
    import hvac.exceptions

    with vault.calls(f"read the metadata of {path}"):
        try:
            metadata = vault.client.secrets.kv.v2.read_secret_metadata(
                path=path, mount_point=vault.target.mount)["data"]
        except hvac.exceptions.InvalidPath:
            return 0
    version = int(metadata.get("current_version") or 0)
    details = (metadata.get("versions") or {}).get(str(version), {})
    if details.get("deletion_time") or details.get("destroyed"):
        return 0
    return version
