"""The running sandbox: its endpoints, its processes and the record that `up` writes."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from envctl.errors import SandboxError

HOST = "127.0.0.1"
REGION = "us-east-1"
RECORD_FILE = Path(".envctl") / "sandbox.json"
LOG_DIR = Path(".envctl") / "sandbox"
# Terraform state of the stacks applied to the sandbox, apart from the state of real AWS.
STATE_DIR = Path(".envctl") / "sandbox" / "state"

# Dummy credentials: moto accepts them, and they are valid nowhere else.
ACCESS_KEY_ID = "test"
SECRET_ACCESS_KEY = "test"


@dataclass(frozen=True)
class Sandbox:
    """A started sandbox cloud: moto for AWS and an OpenBao dev server for Vault."""

    aws_endpoint: str
    vault_address: str
    vault_token: str
    pids: dict[str, int] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """Return the variables that point boto3, hvac and Terraform's AWS provider here.

        Layer them over a base environment. A base that sets a service-specific
        AWS_ENDPOINT_URL_<SERVICE> still wins over AWS_ENDPOINT_URL for that service.
        """
        return {
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "VAULT_ADDR": self.vault_address,
            "VAULT_TOKEN": self.vault_token,
            "BAO_ADDR": self.vault_address,
            "BAO_TOKEN": self.vault_token,
            # Keep loopback traffic off any HTTP proxy that the base environment names.
            "NO_PROXY": HOST,
            "no_proxy": HOST,
        }

    def client_settings(self, region: str = REGION) -> dict[str, str]:
        """Return keyword arguments for boto3.client() that aim it at this sandbox."""
        return {
            "endpoint_url": self.aws_endpoint,
            "region_name": region,
            "aws_access_key_id": ACCESS_KEY_ID,
            "aws_secret_access_key": SECRET_ACCESS_KEY,
        }


def record_path(root: Path) -> Path:
    return root / RECORD_FILE


def log_dir(root: Path) -> Path:
    return root / LOG_DIR


def read_record(root: Path) -> Sandbox | None:
    """Return the sandbox recorded under root, or None when there is no record."""
    path = record_path(root)
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return Sandbox(**data)
    except (ValueError, TypeError) as error:
        raise SandboxError(
            f"invalid sandbox record {path}: {error}; delete it and run `envctl sandbox up` again"
        ) from error


def write_record(root: Path, sandbox: Sandbox) -> None:
    """Write the record readable only by its owner, because it contains the Vault root token."""
    path = record_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        json.dump(asdict(sandbox), stream, indent=2, sort_keys=True)
    partial.replace(path)


def remove_record(root: Path) -> None:
    record_path(root).unlink(missing_ok=True)
