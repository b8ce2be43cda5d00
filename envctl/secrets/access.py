"""Read access to an environment's secrets: one Vault policy and one AppRole role for each.

The policy grants read on exactly the secrets the environment names, each in its own scope,
and on nothing else: other secrets of the same scope, other owners' user scopes, listing and
writing all get 403. The role hands out tokens with only that policy, and secret ids that work
once and expire. Both are named envctl-<environment id>, so a rename keeps them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from envctl.errors import VaultError
from envctl.secrets.scopes import locations
from envctl.secrets.vault import Vault, open_vault, target_for

if TYPE_CHECKING:
    from envctl.definitions.spec import EnvironmentSpec
    from envctl.workspace import Workspace

log = logging.getLogger(__name__)

APPROLE_MOUNT = "approle"
# A secret id works once and only for this long; the box uses it within seconds of delivery.
SECRET_ID_TTL = "15m"
# The box's token lives long enough to read the secrets, and the fetcher revokes it at once.
TOKEN_TTL = "5m"
TOKEN_MAX_TTL = "10m"


def access_name(spec: EnvironmentSpec) -> str:
    """Return the name of the environment's policy and of its AppRole role."""
    return f"envctl-{spec.id}"


def policy_text(spec: EnvironmentSpec, mount: str) -> str:
    """Render the environment's policy in HCL: read each named secret, revoke its own token."""
    lines = [f"# envctl: what environment {spec.name} ({spec.id}) may read at boot."]
    for location in locations(spec):
        lines.append(f'path "{mount}/data/{location.path}" {{ capabilities = ["read"] }}')
    lines.append('path "auth/token/revoke-self" { capabilities = ["update"] }')
    return "\n".join(lines) + "\n"


def grant_access(vault: Vault, spec: EnvironmentSpec) -> str:
    """Create or update the environment's policy and AppRole role; return the role id."""
    name = access_name(spec)
    _ensure_approle(vault)
    with vault.calls(f"write the policy {name}"):
        vault.client.sys.create_or_update_policy(name, policy_text(spec, vault.target.mount))
    with vault.calls(f"write the AppRole role {name}"):
        vault.client.auth.approle.create_or_update_approle(
            name,
            bind_secret_id=True,
            secret_id_num_uses=1,
            secret_id_ttl=SECRET_ID_TTL,
            token_policies=[name],
            token_no_default_policy=True,
            token_ttl=TOKEN_TTL,
            token_max_ttl=TOKEN_MAX_TTL,
            mount_point=APPROLE_MOUNT,
        )
        response = vault.client.auth.approle.read_role_id(name, mount_point=APPROLE_MOUNT)
    return str(response["data"]["role_id"])


def revoke_access(vault: Vault, spec: EnvironmentSpec) -> None:
    """Delete the environment's role (its unused secret ids die with it) and its policy, which
    leaves any token it issued unable to read. Deleting what does not exist is no error."""
    name = access_name(spec)
    with vault.calls(f"list auth methods to revoke {name}"):
        methods = vault.client.sys.list_auth_methods()["data"]
    if f"{APPROLE_MOUNT}/" in methods:
        with vault.calls(f"delete the AppRole role {name}"):
            vault.client.auth.approle.delete_role(name, mount_point=APPROLE_MOUNT)
    with vault.calls(f"delete the policy {name}"):
        vault.client.sys.delete_policy(name)


def sync_access(workspace: Workspace, spec: EnvironmentSpec, removed: bool = False) -> None:
    """After an apply, make Vault match the environment: grant it access to the secrets it
    names, or revoke access when it names none or was destroyed (removed)."""
    if spec.secrets and not removed:
        vault = open_vault(workspace, f"{spec.name} names secrets")
        try:
            grant_access(vault, spec)
        except VaultError as error:
            raise VaultError(f"{spec.name} was applied, but granting it access to its secrets "
                             f"failed: {error}. Fix that, then run `envctl secrets handoff "
                             f"{spec.name}`, which grants it again") from None
        return
    target = target_for(workspace)
    if target is None:
        return
    try:
        revoke_access(Vault(target), spec)
    except VaultError as error:
        if not spec.secrets:
            # An environment without secrets may never have had a role; a Vault that is down
            # must not fail its apply.
            log.warning("%s: could not remove Vault access left from earlier secrets: %s",
                        spec.name, error)
            return
        name = access_name(spec)
        raise VaultError(f"{spec.name} was destroyed, but revoking its Vault access failed: "
                         f"{error}. Revoke it by hand: `bao delete auth/{APPROLE_MOUNT}/role/"
                         f"{name}` and `bao policy delete {name}`") from None


def _ensure_approle(vault: Vault) -> None:
    with vault.calls("list auth methods"):
        methods = vault.client.sys.list_auth_methods()["data"]
    if f"{APPROLE_MOUNT}/" not in methods:
        log.info("enabling the AppRole auth method at %s/ on %s", APPROLE_MOUNT,
                 vault.target.address)
        with vault.calls("enable the AppRole auth method"):
            vault.client.sys.enable_auth_method("approle", path=APPROLE_MOUNT)
