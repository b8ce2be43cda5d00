"""The sandbox Vault is an unsealed OpenBao dev server that accepts the recorded root token."""

from __future__ import annotations

import uuid


def test_vault_health_reports_unsealed(vault_client):
    health = vault_client.sys.read_health_status(method="GET")

    assert health["initialized"] is True
    assert health["sealed"] is False
    assert health["standby"] is False


def test_root_token_authenticates(vault_client):
    assert vault_client.is_authenticated() is True


def test_kv_secret_round_trip(vault_client):
    path = f"envctl-tests/{uuid.uuid4().hex}"

    vault_client.secrets.kv.v2.create_or_update_secret(path=path, secret={"HF_TOKEN": "hf_x"})
    stored = vault_client.secrets.kv.v2.read_secret_version(path=path,
                                                            raise_on_deleted_version=True)

    assert stored["data"]["data"] == {"HF_TOKEN": "hf_x"}
