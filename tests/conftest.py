"""Fixtures shared by every test folder: the sandbox cloud (moto and OpenBao on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from envctl.sandbox import Sandbox, down, reset_cloud, up


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """Start moto and an OpenBao dev server once per test session; stop them at the end.

    Cost: two background processes, a few seconds to start and about 300 MB of memory,
    paid by the first test that requests it. State is shared by every test in the session;
    ask for fresh_cloud to start a test from an empty AWS account.
    """
    root = tmp_path_factory.mktemp("sandbox")
    started = up(root)
    yield started
    down(root)


@pytest.fixture
def fresh_cloud(sandbox: Sandbox) -> Sandbox:
    """Return the session sandbox after dropping every AWS resource that earlier tests made.

    The seeded images and SSM public parameters remain. Vault is not reset. Point clients at
    it explicitly: boto3.client("ec2", **fresh_cloud.client_settings()), or pass
    fresh_cloud.environment() to a child process.
    """
    reset_cloud(sandbox)
    return sandbox
