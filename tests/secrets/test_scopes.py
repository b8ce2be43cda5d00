"""Scopes resolve to documented KV paths, and an environment reads only its own owner's scope."""

from __future__ import annotations

import pytest
from secrets_support import secrets_project

from envctl.definitions.loader import load_project
from envctl.errors import DefinitionError, VaultError
from envctl.secrets.access import access_name, policy_text
from envctl.secrets.scopes import Scope, locations, parse_scope


@pytest.fixture
def project(tmp_path):
    return load_project(secrets_project(tmp_path / "project"))


def test_locations_follow_documented_layout(project):
    whisper = project.environment("whisper")

    paths = {location.name: location.path for location in locations(whisper)}

    assert paths == {
        "HF_TOKEN": "templates/gpu-pytorch/HF_TOKEN",
        "WANDB_API_KEY": "users/bob/WANDB_API_KEY",
        "AWS_CREDENTIALS": "users/bob/AWS_CREDENTIALS",
        "DATASET_TOKEN": "environments/env-5cc2ae3c/DATASET_TOKEN",
    }


def test_template_user_gets_own_user_scope(project):
    """Bob's whisper and Alice's sd-dreambooth share gpu-pytorch and nothing else."""
    whisper = {loc.name: loc.scope for loc in locations(project.environment("whisper"))}
    dreambooth = {loc.name: loc.scope for loc in locations(project.environment("sd-dreambooth"))}

    assert whisper["HF_TOKEN"] == dreambooth["HF_TOKEN"] == Scope("template", "gpu-pytorch",
                                                                  "gpu-pytorch")
    assert whisper["WANDB_API_KEY"] == Scope("user", "bob", "bob")
    assert dreambooth["WANDB_API_KEY"] == Scope("user", "alice", "alice")
    assert whisper["DATASET_TOKEN"] != dreambooth["DATASET_TOKEN"]


def test_file_travels_with_location(project):
    files = {loc.name: loc.file for loc in locations(project.environment("whisper"))}

    assert files["AWS_CREDENTIALS"] == ".aws/credentials"
    assert files["HF_TOKEN"] is None


def test_policy_reads_exactly_named_paths(project):
    whisper = project.environment("whisper")

    policy = policy_text(whisper, "envctl")

    assert access_name(whisper) == "envctl-env-5cc2ae3c"
    grants = [line for line in policy.splitlines() if line.startswith("path ")]
    assert grants == [
        'path "envctl/data/templates/gpu-pytorch/HF_TOKEN" { capabilities = ["read"] }',
        'path "envctl/data/users/bob/WANDB_API_KEY" { capabilities = ["read"] }',
        'path "envctl/data/users/bob/AWS_CREDENTIALS" { capabilities = ["read"] }',
        'path "envctl/data/environments/env-5cc2ae3c/DATASET_TOKEN" { capabilities = ["read"] }',
        'path "auth/token/revoke-self" { capabilities = ["update"] }',
    ]
    assert "*" not in policy
    assert "+" not in policy


SCOPES = [
    ("user", {}, Scope("user", "bob", "bob")),
    ("user:carol", {}, Scope("user", "carol", "carol")),
    ("env:whisper", {}, Scope("environment", "env-5cc2ae3c", "whisper")),
    ("env:env-5cc2ae3c", {}, Scope("environment", "env-5cc2ae3c", "whisper")),
    ("template:cpu-ubuntu", {}, Scope("template", "cpu-ubuntu", "cpu-ubuntu")),
]


@pytest.mark.parametrize("text,extra,expected", SCOPES, ids=[row[0] for row in SCOPES])
def test_parse_scope(project, text, extra, expected):
    assert parse_scope(text, project, {"ENVCTL_OWNER": "bob", **extra}) == expected


def test_scope_option_round_trips(project):
    for text, _, expected in SCOPES[1:]:
        assert parse_scope(expected.option, project, {}) == expected, text


@pytest.mark.parametrize("key", ["+", "*", "a/b", "..", "alice*", 'a"b', ""])
def test_wildcard_keys_rejected(key):
    with pytest.raises(VaultError, match="cannot name a Vault path"):
        Scope("template", key, key)


def test_template_scope_without_template_rejected(project):
    python_cpu = project.environment("go-dev").model_copy(update={"template": None})
    from envctl.definitions.models import SecretRef

    orphan = python_cpu.model_copy(update={"secrets": (SecretRef(name="X", scope="template"),)})

    with pytest.raises(DefinitionError, match="extends no template"):
        locations(orphan)
