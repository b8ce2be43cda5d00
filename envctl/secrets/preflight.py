"""The check before any cloud change: Vault responds, is unsealed and has every named secret."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from envctl.errors import VaultError
from envctl.secrets.scopes import SecretLocation, locations
from envctl.secrets.store import current_version
from envctl.secrets.vault import Vault, open_vault

if TYPE_CHECKING:
    from envctl.definitions.spec import EnvironmentSpec
    from envctl.workspace import Workspace


def check_secrets(workspace: Workspace, specs: Sequence[EnvironmentSpec]) -> None:
    """Raise VaultError unless every secret the specs name can be read at boot.

    Environments that name no secrets need no Vault, so without such an environment this
    returns at once. The check reads metadata only, never a value.
    """
    named = [spec for spec in specs if spec.secrets]
    if named:
        check_named_secrets(open_vault(workspace, f"{named[0].name} names secrets"), named)


def check_vault_for_removal(workspace: Workspace, specs: Sequence[EnvironmentSpec]) -> None:
    """Raise VaultError unless Vault is ready to revoke the access of specs that name secrets.

    A destroy revokes the environment's policy and role after Terraform has run, so Vault is
    checked before, and a destroy never leaves the cloud changed with the access still there.
    """
    named = [spec for spec in specs if spec.secrets]
    if named:
        open_vault(workspace, f"{named[0].name} names secrets").check_ready()


def check_named_secrets(vault: Vault, specs: Sequence[EnvironmentSpec]) -> None:
    """Raise VaultError unless vault is ready and contains every secret that specs name."""
    vault.check_ready()
    missing = [(spec.name, location) for spec in specs for location in locations(spec)
               if not current_version(vault, location.path)]
    if missing:
        raise VaultError(_missing_message(missing, vault.target.mount, vault.target.sandbox))


def _missing_message(missing: list[tuple[str, SecretLocation]], mount: str,
                     sandbox: bool) -> str:
    listed = ", ".join(f"{environment}: {location.name} ({location.scope}, "
                       f"{mount}/{location.path})" for environment, location in missing)
    first = missing[0][1]
    command = f"envctl secrets set {first.name} --scope {first.scope.option}"
    if sandbox:
        command += " --sandbox"
    noun = "secret is" if len(missing) == 1 else "secrets are"
    return (f"{len(missing)} named {noun} missing from Vault: {listed}; store each with "
            f"`envctl secrets set NAME --scope SCOPE`, such as `{command}`")
