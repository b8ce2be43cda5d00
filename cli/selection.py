"""Choosing which environments a command acts on."""

from __future__ import annotations

from envctl.definitions.loader import Project
from envctl.definitions.spec import EnvironmentSpec


def select_environments(
    project: Project, names: tuple[str, ...], all_if_empty: bool = True
) -> list[EnvironmentSpec]:
    """Return the named environments (by name or id), or every one when none is named."""
    if not names and all_if_empty:
        return list(project.environments)
    return [project.environment(name) for name in names]
