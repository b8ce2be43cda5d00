"""Secret scopes: the Vault path of each secret, and the secrets an environment reads.

Layout inside the KV v2 mount (envctl.yaml vault.mount, default "envctl"), one KV secret per
name, its value under the key "value":

    users/<owner>/<NAME>                 user scope: every environment of that owner
    environments/<environment id>/<NAME> environment scope: that environment only
    templates/<template>/<NAME>          template scope: every environment built from it

The environment scope is keyed by the immutable environment id, so a rename keeps its
secrets. An environment reads the user scope of its own owner: when Bob builds an environment
from Alice's template, it reads the template scope and Bob's user scope, never Alice's.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from envctl.errors import DefinitionError, VaultError

if TYPE_CHECKING:
    from envctl.definitions.loader import Project
    from envctl.definitions.spec import EnvironmentSpec

ScopeKind = Literal["user", "environment", "template"]

FOLDERS: dict[str, str] = {"user": "users", "environment": "environments", "template": "templates"}
# One path segment. Vault policies read '*' and '+' as wildcards, so a key that contained one
# could widen a policy to other scopes. Only these characters ever reach a path.
SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
OWNER_VARIABLE = "ENVCTL_OWNER"


@dataclass(frozen=True)
class Scope:
    """One scope: its kind, the key in its path (owner, environment id or template name) and
    the name shown to people (the environment's name rather than its id)."""

    kind: ScopeKind
    key: str
    display_name: str

    def __post_init__(self) -> None:
        if not SEGMENT.match(self.key):
            raise VaultError(
                f"{self.kind} {self.key!r} cannot name a Vault path; use letters, digits, "
                "'.', '_' and '-', starting with a letter or digit")

    @property
    def folder(self) -> str:
        """The scope's folder inside the KV mount, such as users/alice."""
        return f"{FOLDERS[self.kind]}/{self.key}"

    @property
    def option(self) -> str:
        """The --scope value that names this scope, such as template:gpu-pytorch."""
        prefix = {"user": "user", "environment": "env", "template": "template"}[self.kind]
        return f"{prefix}:{self.display_name}"

    def path(self, name: str) -> str:
        """Return the secret's path inside the KV mount, such as users/alice/HF_TOKEN."""
        check_name(name)
        return f"{self.folder}/{name}"

    def __str__(self) -> str:
        return f"{self.kind} {self.display_name}"


@dataclass(frozen=True)
class SecretLocation:
    """A secret that an environment names, resolved to its scope. file is the box's target
    file relative to the user's home, or None for the env file."""

    name: str
    scope: Scope
    file: str | None = None

    @property
    def path(self) -> str:
        return self.scope.path(self.name)


def check_name(name: str) -> str:
    if not SECRET_NAME.match(name):
        raise VaultError(f"{name!r} is not a valid secret name; use letters, digits and _, "
                         "not starting with a digit, such as HF_TOKEN")
    return name


def environment_scopes(spec: EnvironmentSpec) -> dict[ScopeKind, Scope]:
    """Return the scopes an environment may read: its owner's, its own, and its template's."""
    scopes: dict[ScopeKind, Scope] = {
        "user": Scope("user", spec.owner, spec.owner),
        "environment": Scope("environment", spec.id, spec.name),
    }
    if spec.template is not None:
        scopes["template"] = Scope("template", spec.template, spec.template)
    return scopes


def locations(spec: EnvironmentSpec) -> list[SecretLocation]:
    """Resolve every secret the environment names to its scope."""
    scopes = environment_scopes(spec)
    found = []
    for ref in spec.secrets:
        scope = scopes.get(ref.scope)
        if scope is None:
            raise DefinitionError(str(spec.source), None, "secrets",
                                  f"{ref.name} has scope template but the environment extends "
                                  "no template", "set template: or use scope user or environment")
        found.append(SecretLocation(ref.name, scope, ref.file))
    return found


def parse_scope(text: str, project: Project, environ: Mapping[str, str]) -> Scope:
    """Parse a --scope value: user, user:OWNER, env:ENVIRONMENT or template:TEMPLATE."""
    kind, _, value = text.partition(":")
    if kind == "user":
        owner = value or current_owner(environ)
        return Scope("user", owner, owner)
    if kind in ("env", "environment") and value:
        spec = project.environment(value)
        return Scope("environment", spec.id, spec.name)
    if kind == "template" and value:
        if value not in project.templates:
            known = ", ".join(sorted(project.templates)) or "none"
            raise VaultError(f"no template named {value!r} in {project.root / 'templates'}; "
                             f"known: {known}")
        return Scope("template", value, value)
    raise VaultError(f"invalid scope {text!r}; use user, user:OWNER, env:ENVIRONMENT or "
                     "template:TEMPLATE")


def current_owner(environ: Mapping[str, str]) -> str:
    """Return the owner that the user scope means: $ENVCTL_OWNER, else the login name."""
    owner = environ.get(OWNER_VARIABLE) or _login_name()
    if not owner or not SEGMENT.match(owner):
        raise VaultError(f"cannot tell whose user scope to use (got {owner!r}); pass "
                         f"--scope user:OWNER or set {OWNER_VARIABLE}")
    return owner


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")
