"""The Vault server envctl talks to: which one, with which token, and errors in plain words.

The address comes from the sandbox in sandbox mode, else envctl.yaml vault.address, else
VAULT_ADDR. The token comes from the sandbox, else VAULT_TOKEN, else ~/.vault-token. hvac is
imported only when a server is contacted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from envctl.errors import VaultError

if TYPE_CHECKING:
    from envctl.definitions.project import ProjectSettings
    from envctl.workspace import Workspace

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 10
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class VaultTarget:
    """A Vault server and how envctl logs in to it; origin names where the address came from."""

    address: str
    token: str | None
    mount: str
    origin: str
    sandbox: bool = False
    ca_cert: str | None = None

    @property
    def ca_pem(self) -> str | None:
        """The PEM text of the CA that signs the server's certificate (VAULT_CACERT), if set."""
        if self.ca_cert is None:
            return None
        try:
            return Path(self.ca_cert).read_text()
        except OSError as error:
            raise VaultError(f"cannot read VAULT_CACERT {self.ca_cert} ({error.strerror}); "
                             "point it at the CA certificate of the Vault server") from None


def target_from(settings: ProjectSettings, environ: Mapping[str, str],
                sandbox: bool) -> VaultTarget | None:
    """Find the Vault server, or return None when none is configured.

    environ is the environment envctl runs with; in sandbox mode it contains the sandbox's
    VAULT_ADDR and VAULT_TOKEN, which win over envctl.yaml.
    """
    mount = settings.vault.mount
    if sandbox:
        address = environ.get("VAULT_ADDR")
        if not address:
            return None
        return VaultTarget(address, environ.get("VAULT_TOKEN"), mount, "the sandbox", True)
    if settings.vault.address:
        address, origin = settings.vault.address, "vault.address in envctl.yaml"
    elif environ.get("VAULT_ADDR"):
        address, origin = environ["VAULT_ADDR"], "VAULT_ADDR"
    else:
        return None
    token = environ.get("VAULT_TOKEN") or _token_file(environ)
    return VaultTarget(address, token, mount, origin, ca_cert=environ.get("VAULT_CACERT"))


def target_for(workspace: Workspace) -> VaultTarget | None:
    """Return the workspace's Vault server: the sandbox's in sandbox mode, else the configured."""
    return target_from(workspace.project.settings, workspace.env,
                       workspace.sandbox_endpoint is not None)


def _token_file(environ: Mapping[str, str]) -> str | None:
    home = environ.get("HOME")
    path = Path(home) / ".vault-token" if home else Path.home() / ".vault-token"
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


class Vault:
    """An hvac client for one target whose failures raise VaultError with the fix."""

    def __init__(self, target: VaultTarget):
        self.target = target
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import hvac
            import requests

            session = requests.Session()
            # A proxy from the environment must not carry loopback traffic (the sandbox).
            session.trust_env = urlsplit(self.target.address).hostname not in LOOPBACK_HOSTS
            self._client = hvac.Client(url=self.target.address, token=self.target.token,
                                       session=session, timeout=REQUEST_TIMEOUT_S,
                                       verify=self.target.ca_cert or True)
        return self._client

    @contextmanager
    def calls(self, action: str) -> Iterator[None]:
        """Translate hvac and connection errors raised while doing action into VaultError."""
        import hvac.exceptions
        import requests

        where = f"Vault at {self.target.address} (from {self.target.origin})"
        try:
            yield
        except requests.RequestException as error:
            raise VaultError(f"{where} is unreachable while trying to {action} "
                             f"({type(error).__name__}); start it, or fix "
                             f"{self._address_setting()}") from None
        except hvac.exceptions.VaultDown:
            raise VaultError(f"{where} is sealed; unseal it (`bao operator unseal`) and "
                             "run the command again") from None
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise VaultError(f"{where} denied permission to {action}; log in with a token "
                             f"that may (`bao login`, VAULT_TOKEN or ~/.vault-token)") from None
        except hvac.exceptions.VaultError as error:
            raise VaultError(f"{where} failed to {action}: {_first_line(error)}") from None

    def check_ready(self) -> None:
        """Raise VaultError unless the server responds, is unsealed, and envctl has a token."""
        with self.calls("read its seal status"):
            sealed = self.client.sys.read_seal_status()["sealed"]
        if sealed:
            raise VaultError(f"Vault at {self.target.address} (from {self.target.origin}) is "
                             "sealed; unseal it (`bao operator unseal`) and run the command "
                             "again")
        if not self.target.token:
            raise VaultError(f"no Vault token for {self.target.address}; log in with `bao "
                             "login`, or set VAULT_TOKEN")

    def kv_version(self) -> str | None:
        """The KV version of envctl's mount, or None when the mount does not exist."""
        with self.calls("list secrets engines"):
            mounts = self.client.sys.list_mounted_secrets_engines()["data"]
        mount = mounts.get(f"{self.target.mount}/")
        if mount is None:
            return None
        if mount["type"] not in ("kv", "generic"):
            raise VaultError(f"Vault mount {self.target.mount!r} is a {mount['type']} engine, "
                             "not KV; set vault.mount in envctl.yaml to a KV version 2 mount")
        return str((mount.get("options") or {}).get("version", "1"))

    def ensure_kv_mount(self) -> None:
        """Enable envctl's KV version 2 mount when it is missing; reject a version 1 mount."""
        version = self.kv_version()
        if version is None:
            log.info("enabling KV version 2 at %s/ on %s", self.target.mount, self.target.address)
            with self.calls(f"enable the KV mount {self.target.mount}"):
                self.client.sys.enable_secrets_engine("kv", path=self.target.mount,
                                                      options={"version": "2"})
        elif version != "2":
            raise VaultError(f"Vault mount {self.target.mount!r} is KV version {version}; "
                             "envctl needs version 2: set vault.mount to another mount, or "
                             f"upgrade it (`bao kv enable-versioning {self.target.mount}`)")

    def _address_setting(self) -> str:
        if self.target.sandbox:
            return "the sandbox (`envctl sandbox status`)"
        if self.target.origin == "VAULT_ADDR":
            return "VAULT_ADDR (or set vault.address in envctl.yaml)"
        return "vault.address in envctl.yaml"


def open_vault(workspace: Workspace, needed_by: str) -> Vault:
    """Connect to the workspace's Vault; raise VaultError naming vault.address when none is
    configured. needed_by names what needs it, such as "sd-dreambooth names secrets"."""
    target = target_for(workspace)
    if target is None:
        raise VaultError(f"{needed_by} but no Vault is configured; set vault.address in "
                         "envctl.yaml (or VAULT_ADDR), or use --sandbox")
    return Vault(target)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
