"""Fixtures for backup tests: a project on disk, and its resolved spec."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from backups_support import BACKUP_ENVIRONMENT, write_project

from envctl.definitions.loader import load_project
from envctl.definitions.spec import EnvironmentSpec


@pytest.fixture
def backup_spec(tmp_path: Path) -> Callable[..., EnvironmentSpec]:
    """Load an environment file text (default: the backup box) into a resolved spec."""

    def load(text: str = BACKUP_ENVIRONMENT) -> EnvironmentSpec:
        root = write_project(tmp_path / "project", text)
        return load_project(root).environments[0]

    return load
