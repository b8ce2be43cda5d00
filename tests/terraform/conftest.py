"""Real Terraform runs: the offline provider mirror, offline environments and stack folders."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from envctl.terraform.mirror import mirror_cli_config

# Any request Terraform makes to the network goes to this proxy, where nothing listens, so a
# test that needs the network fails instead of downloading.
DEAD_PROXY = "http://127.0.0.1:9"

# A stack needing no provider: terraform_data is built into Terraform.
DATA_STACK: dict[str, Any] = {
    "variable": {"greeting": {"type": "string", "default": "hello"}},
    "resource": {"terraform_data": {"marker": {"input": "${var.greeting}"}}},
    "output": {"greeting": {"value": "${terraform_data.marker.output}"}},
}

# A stack needing hashicorp/aws 3.39.0, the version the offline mirror holds.
AWS_STACK: dict[str, Any] = {
    "terraform": {
        "required_providers": {"aws": {"source": "hashicorp/aws", "version": "3.39.0"}},
    },
    "provider": {"aws": [{"region": "us-east-1"}]},
    "resource": {
        "aws_security_group": {
            "ssh": {"name": "envctl-test-ssh", "description": "SSH from one address"}
        }
    },
}


@pytest.fixture(scope="session")
def mirror_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache folder holding the hashicorp/aws 3.39.0 mirror and its CLI config, terraform.rc.

    Unpacks the 177 MB provider once per test session, and deletes it afterwards so old pytest
    temporary folders do not keep copies.
    """
    cache_dir = tmp_path_factory.mktemp("envctl-cache")
    mirror_cli_config(cache_dir)
    yield cache_dir
    shutil.rmtree(cache_dir, ignore_errors=True)


@pytest.fixture
def mirror_config(mirror_cache_dir: Path) -> Path:
    """The CLI config file that installs hashicorp/aws from the session's mirror."""
    return mirror_cache_dir / "terraform.rc"


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    """Environment variables that keep Terraform off the network and away from ~/.terraformrc."""
    empty_config = tmp_path / "empty.terraformrc"
    empty_config.write_text("")
    return {
        "TF_CLI_CONFIG_FILE": str(empty_config),
        "CHECKPOINT_DISABLE": "1",
        "HTTPS_PROXY": DEAD_PROXY,
        "HTTP_PROXY": DEAD_PROXY,
        "NO_PROXY": "",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }


@pytest.fixture
def data_config() -> dict[str, Any]:
    """Terraform JSON for a stack with one terraform_data resource and one output."""
    return copy.deepcopy(DATA_STACK)


@pytest.fixture
def aws_config() -> dict[str, Any]:
    """Terraform JSON for a stack with one aws_security_group, pinned to hashicorp/aws 3.39.0."""
    return copy.deepcopy(AWS_STACK)


@pytest.fixture
def make_stack(tmp_path: Path) -> Callable[..., Path]:
    """Write a stack folder holding config as cdk.tf.json, the way synthesis lays it out."""

    def make(config: dict[str, Any] = DATA_STACK, name: str = "dev") -> Path:
        stack_dir = tmp_path / "stacks" / name
        stack_dir.mkdir(parents=True)
        (stack_dir / "cdk.tf.json").write_text(json.dumps(config, indent=2))
        return stack_dir

    return make
