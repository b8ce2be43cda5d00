"""Template tests: a home folder of their own and a small project on disk; no cloud."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

ProjectFactory = Callable[..., Path]


@pytest.fixture(autouse=True)
def home(home: Path) -> Path:
    """Give every template test the empty HOME from tests/conftest.py."""
    return home


@pytest.fixture
def make_project(make_project: ProjectFactory) -> ProjectFactory:
    """The shared project factory, writing no environment file unless a test names one."""

    def make(environments: dict[str, str] | None = None,
             templates: dict[str, str] | None = None) -> Path:
        return make_project(environments or {}, templates)

    return make
