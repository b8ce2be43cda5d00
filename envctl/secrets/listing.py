"""The rows of `envctl secrets ls`: stored secrets and named-but-missing ones, never values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from envctl.secrets.scopes import Scope, current_owner, locations
from envctl.secrets.store import list_secrets

if TYPE_CHECKING:
    from envctl.definitions.loader import Project
    from envctl.secrets.vault import Vault


@dataclass(frozen=True)
class SecretRow:
    """One secret name in one scope: its stored version (0 when missing) and who names it."""

    name: str
    scope: Scope
    version: int
    named_by: tuple[str, ...] = field(default=())

    @property
    def status(self) -> str:
        stored = f"version {self.version}" if self.version else "MISSING"
        used = f", named by {', '.join(self.named_by)}" if self.named_by else ""
        return stored + used

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "scope": self.scope.option, "version": self.version,
                "named_by": list(self.named_by)}


def project_scopes(project: Project, environ: Mapping[str, str]) -> list[Scope]:
    """Return every scope the project touches: each owner's and the caller's, each template,
    each environment."""
    owners = {spec.owner for spec in project.environments} | {current_owner(environ)}
    scopes = [Scope("user", owner, owner) for owner in sorted(owners)]
    scopes += [Scope("template", name, name) for name in sorted(project.templates)]
    scopes += [Scope("environment", spec.id, spec.name)
               for spec in sorted(project.environments, key=lambda spec: spec.name)]
    return scopes


def secret_rows(vault: Vault, project: Project, scopes: Sequence[Scope] | None,
                environ: Mapping[str, str]) -> list[SecretRow]:
    """List the stored secrets of scopes (default: the project's) plus the secrets that the
    project's environments name there but Vault lacks."""
    vault.check_ready()
    chosen = list(scopes) if scopes is not None else project_scopes(project, environ)
    named: dict[tuple[Scope, str], list[str]] = {}
    for spec in project.environments:
        for location in locations(spec):
            named.setdefault((location.scope, location.name), []).append(spec.name)
    rows = []
    for scope in chosen:
        stored = {secret.name: secret.version for secret in list_secrets(vault, scope)}
        wanted = {name for (where, name) in named if where == scope}
        for name in sorted(stored.keys() | wanted):
            rows.append(SecretRow(name, scope, stored.get(name, 0),
                                  tuple(sorted(named.get((scope, name), ())))))
    return rows
