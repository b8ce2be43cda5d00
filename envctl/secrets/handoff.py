"""The handoff: the one document an instance needs to fetch its secrets, delivered out of band.

It contains the Vault address, the role id (not secret), the KV paths to read, and a secret id
that Vault has response-wrapped: the wrapping token can be unwrapped once, expires after a few
minutes, and the secret id inside works for one login only. It never passes through Terraform,
so it is in no stack, plan or state, and user data never holds it.

`envctl secrets deliver ENV` sends it over SSH, after apply, into /run/envctl on the box
(root-only, in memory), where the boot's fetcher waits for it.

NOTE: AWS IAM auth, which would need no delivery, is not supported.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

from envctl.definitions.secret_values import ENV_FILE
from envctl.errors import VaultError
from envctl.secrets.access import APPROLE_MOUNT, access_name, grant_access
from envctl.secrets.preflight import check_named_secrets
from envctl.secrets.scopes import locations
from envctl.secrets.vault import Vault

if TYPE_CHECKING:
    from envctl.definitions.spec import EnvironmentSpec

HANDOFF_VERSION = 1
# How long the wrapped secret id can wait for the box, in seconds.
HANDOFF_TTL_S = 900
# The path on the box where the boot's fetcher waits for the handoff.
BOX_HANDOFF_PATH = "/run/envctl/secrets-handoff.json"
# Run on the box by `envctl secrets deliver` with the handoff on stdin. The file appears under
# its final name only when complete (mv within one folder), readable by root alone.
BOX_INSTALL_COMMAND = (
    "sudo sh -c 'umask 077 && mkdir -p /run/envctl && "
    f"cat >{BOX_HANDOFF_PATH}.partial && mv -f {BOX_HANDOFF_PATH}.partial {BOX_HANDOFF_PATH}'"
)


def issue_handoff(vault: Vault, spec: EnvironmentSpec,
                  ttl_s: int = HANDOFF_TTL_S) -> dict[str, Any]:
    """Grant the environment access and return its handoff with a fresh wrapped secret id.

    Every call issues a new secret id, so each handoff is for one delivery only.
    """
    if not spec.secrets:
        raise VaultError(f"{spec.name} names no secrets, so its box needs no handoff; list "
                         "them under secrets: in its file")
    check_named_secrets(vault, [spec])
    role_id = grant_access(vault, spec)
    with vault.calls(f"issue a secret id for {access_name(spec)}"):
        wrapped = vault.client.auth.approle.generate_secret_id(
            access_name(spec), metadata={"environment": spec.name}, wrap_ttl=f"{ttl_s}s",
            mount_point=APPROLE_MOUNT)["wrap_info"]
    mount = vault.target.mount
    return {
        "version": HANDOFF_VERSION,
        "environment": spec.name,
        "address": vault.target.address,
        "ca_pem": vault.target.ca_pem,
        "login_path": f"auth/{APPROLE_MOUNT}/login",
        "role_id": role_id,
        "wrapped_secret_id": wrapped["token"],
        "expires_in": int(wrapped["ttl"]),
        "env_file": ENV_FILE,
        "secrets": [{"name": location.name, "path": f"{mount}/data/{location.path}",
                     "file": location.file} for location in locations(spec)],
    }


def fetcher_source() -> bytes:
    """Return the instance-side fetcher as shipped in this package, to pack into the payload."""
    return resources.files("envctl.instance").joinpath("secrets", "fetch.py").read_bytes()

