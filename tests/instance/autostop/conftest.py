"""Fixtures for the autostop tests."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def agent_info_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Capture the agent's INFO lines too: each decision and the hook's output are INFO."""
    caplog.set_level(logging.INFO, logger="envctl.autostop")
