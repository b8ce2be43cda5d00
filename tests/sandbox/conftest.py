"""Clients for the sandbox that never go through an HTTP proxy, and a private sandbox folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from envctl.sandbox import Sandbox, down

AwsClientFactory = Callable[..., Any]


@pytest.fixture
def aws_client(fresh_cloud: Sandbox) -> AwsClientFactory:
    """Return a factory of boto3 clients aimed at the freshly reset sandbox."""
    import boto3
    from botocore.config import Config

    def make(service: str, region: str = "us-east-1") -> Any:
        return boto3.client(service, config=Config(proxies={}),
                            **fresh_cloud.client_settings(region))

    return make


@pytest.fixture
def vault_client(sandbox: Sandbox) -> Any:
    """Return an hvac client logged in to the sandbox Vault with its root token."""
    import hvac
    import requests

    session = requests.Session()
    session.trust_env = False  # ignore HTTP_PROXY: the server is on 127.0.0.1
    return hvac.Client(url=sandbox.vault_address, token=sandbox.vault_token, session=session)


@pytest.fixture
def sandbox_root(tmp_path: Path) -> Iterator[Path]:
    """Return a folder for a test's own sandbox, stopped after the test.

    Each `up` in it starts two servers, which takes a few seconds.
    """
    yield tmp_path
    down(tmp_path)
