"""Specs built through the real loader, and a synth helper; importing cdktn costs a few seconds."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests_support import GOOD_ENVIRONMENT

from envctl.definitions.loader import load_project
from envctl.definitions.project import StateSettings
from envctl.definitions.spec import EnvironmentSpec


@pytest.fixture
def spec_from(tmp_path: Path) -> Callable[[str], EnvironmentSpec]:
    """Load one environment file text into a resolved spec."""

    def load(text: str = GOOD_ENVIRONMENT) -> EnvironmentSpec:
        root = tmp_path / "project"
        (root / "environments").mkdir(parents=True, exist_ok=True)
        (root / "envctl.yaml").write_text("region: us-east-1\n")
        (root / "environments" / "env.yaml").write_text(text)
        return load_project(root).environments[0]

    return load


@pytest.fixture
def synth_stack(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Synthesize one EnvironmentStack and return its Terraform JSON as a dict."""
    from cdktn import Testing

    from envctl.cdk.stack import EnvironmentStack, StackOptions

    def synth(spec: EnvironmentSpec, **overrides: Any) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "state": StateSettings(),
            "state_dir": tmp_path / "state",
            "provider_version": ">= 3.39.0, < 7.0.0",
        }
        options = StackOptions(**{**settings, **overrides})
        stack = EnvironmentStack(Testing.app(), spec, options)
        return json.loads(Testing.synth(stack))

    return synth
