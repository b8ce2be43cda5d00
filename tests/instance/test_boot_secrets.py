"""The boot's secrets step: the fetcher that the user data carries reads the handoff from
/run/envctl, logs in to the sandbox's OpenBao, and writes the env file before the setup runs."""

from __future__ import annotations

import json
import os
import stat
import uuid
from pathlib import Path

import pytest
from instance_support import (
    BY_ID_LINK,
    HF_TOKEN,
    USER,
    VOLUME_ID,
    make_spec,
    read_status,
    run_user_data,
)

from envctl.definitions.models import SecretRef
from envctl.instance import render_user_data
from envctl.instance.payload import payload_files
from envctl.sandbox import Sandbox
from envctl.secrets.handoff import BOX_HANDOFF_PATH, fetcher_source, issue_handoff
from envctl.secrets.scopes import Scope
from envctl.secrets.store import put_secret
from envctl.secrets.vault import Vault, VaultTarget

# The setup proves that it runs after the fetch: it loads the env file and keeps the value.
SETUP = '. "$HOME/.envctl/secrets.env"\nprintf %s "$DATASET_TOKEN" >"$ENVCTL_WORKSPACE/seen"\n'
SECRETS = (SecretRef.model_validate({"name": "DATASET_TOKEN", "scope": "environment"}),)


@pytest.fixture
def vault(sandbox: Sandbox) -> Vault:
    """The sandbox's OpenBao with a KV mount of this test's own."""
    mount = f"envctl-boot-{uuid.uuid4().hex[:8]}"
    opened = Vault(VaultTarget(sandbox.vault_address, sandbox.vault_token, mount, "the sandbox",
                               sandbox=True))
    opened.ensure_kv_mount()
    return opened


def attach(root: Path, device: str) -> None:
    by_id = root / "dev/disk/by-id"
    by_id.mkdir(parents=True, exist_ok=True)
    (by_id / BY_ID_LINK).symlink_to(device)


def deliver(root: Path, handoff: dict[str, object]) -> Path:
    """Put the handoff where the boot waits for it, as the SSH delivery does."""
    path = root / BOX_HANDOFF_PATH.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(handoff))
    path.chmod(0o600)
    return path


def test_fetcher_packed_only_with_secrets():
    with_secrets = {f.name: f for f in payload_files(make_spec(secrets=HF_TOKEN), None, None)}
    without = {f.name for f in payload_files(make_spec(), None, None)}

    assert with_secrets["secrets/fetch.py"].content == fetcher_source()
    assert with_secrets["secrets/fetch.py"].mode == 0o755
    assert "secrets/fetch.py" not in without


def test_boot_fetches_secrets_before_setup(fake_root: Path, loop_device: str, vault: Vault):
    attach(fake_root, loop_device)
    spec = make_spec(secrets=SECRETS, setup=SETUP)
    value = f"canary-boot-{uuid.uuid4().hex}"
    put_secret(vault, Scope("environment", spec.id, spec.name), "DATASET_TOKEN", value)
    handoff_file = deliver(fake_root, issue_handoff(vault, spec))

    user_data = render_user_data(spec, volume_id=VOLUME_ID)
    result = run_user_data(user_data, fake_root, ENVCTL_SECRETS_WAIT_SECONDS="30")

    assert result.returncode == 0, result.stdout + result.stderr
    assert read_status(fake_root)["state"] == "ok"
    assert (fake_root / "data/workspace/seen").read_text() == value
    env_file = fake_root / "data/home" / USER / ".envctl/secrets.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert env_file.stat().st_uid == os.getuid()
    assert not handoff_file.exists()
    assert "step secrets: done" in result.stdout
    assert value not in result.stdout + result.stderr
    assert value not in user_data


def test_boot_without_handoff_still_runs_setup(fake_root: Path, loop_device: str):
    attach(fake_root, loop_device)
    spec = make_spec(secrets=SECRETS, setup='touch "$ENVCTL_WORKSPACE/setup-ran"\n')

    result = run_user_data(render_user_data(spec, volume_id=VOLUME_ID), fake_root,
                           ENVCTL_SECRETS_WAIT_SECONDS="0")

    assert result.returncode == 1
    status = read_status(fake_root)
    assert status["state"] == "failed"
    assert status["failed_steps"] == "secrets"
    assert "envctl-secrets: cannot read the handoff" in result.stderr
    assert (fake_root / "data/workspace/setup-ran").exists()
