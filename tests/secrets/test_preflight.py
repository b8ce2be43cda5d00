"""Before any cloud change, plan checks that Vault responds, is unsealed and contains every
named secret. Each failure is one clear error, and nothing in the cloud or on disk changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from secrets_support import canary

from envctl.definitions.loader import load_project
from envctl.errors import VaultError
from envctl.planning.run import plan_environments
from envctl.sandbox import Sandbox
from envctl.secrets.preflight import check_secrets, check_vault_for_removal
from envctl.secrets.scopes import locations
from envctl.secrets.store import put_secret, remove_secret
from envctl.workspace import open_workspace


def cloud_snapshot(workspace) -> dict[str, set[str]]:
    """The ids of every instance, volume and security group in the sandbox's us-east-1."""
    ec2 = workspace.client("ec2", "us-east-1")
    reservations = ec2.describe_instances()["Reservations"]
    return {
        "instances": {i["InstanceId"] for r in reservations for i in r["Instances"]},
        "volumes": {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]},
        "groups": {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]},
    }


def store_all(vault, spec) -> None:
    for location in locations(spec):
        put_secret(vault, location.scope, location.name, canary(location.name.lower()))


def assert_untouched(workspace, before, files_before) -> None:
    root = workspace.project.root
    assert cloud_snapshot(workspace) == before
    assert not (root / "cdktf.out").exists()
    assert not (root / ".envctl" / "state").exists()
    assert not (root / ".envctl" / "sandbox" / "state").exists()
    assert {path: path.read_text() for path in root.glob("environments/*.yaml")} == files_before


def plan_whisper(workspace):
    spec = workspace.project.environment("whisper")
    return plan_environments(workspace, [spec], workspace.project.root / "plans")


@pytest.fixture
def before(workspace):
    files = {path: path.read_text() for path in workspace.project.root.glob("environments/*")}
    return cloud_snapshot(workspace), files


def test_missing_secret_stops_plan(workspace, vault, before):
    whisper = workspace.project.environment("whisper")
    store_all(vault, whisper)
    dataset = next(loc for loc in locations(whisper) if loc.name == "DATASET_TOKEN")
    remove_secret(vault, dataset.scope, dataset.name)

    with pytest.raises(VaultError) as caught:
        plan_whisper(workspace)

    message = str(caught.value)
    assert message.startswith("1 named secret is missing from Vault: whisper: DATASET_TOKEN "
                              "(environment whisper, envctl-test-")
    assert "/environments/env-5cc2ae3c/DATASET_TOKEN)" in message
    assert "`envctl secrets set DATASET_TOKEN --scope env:whisper --sandbox`" in message
    assert_untouched(workspace, *before)


def test_every_missing_secret_listed(workspace, before):
    with pytest.raises(VaultError, match="4 named secrets are missing") as caught:
        plan_whisper(workspace)

    for name in ("HF_TOKEN", "WANDB_API_KEY", "AWS_CREDENTIALS", "DATASET_TOKEN"):
        assert f"whisper: {name}" in str(caught.value)
    assert_untouched(workspace, *before)


def test_soft_deleted_secret_counts_as_missing(workspace, vault):
    whisper = workspace.project.environment("whisper")
    store_all(vault, whisper)
    hf_token = next(loc for loc in locations(whisper) if loc.name == "HF_TOKEN")
    vault.client.secrets.kv.v2.delete_latest_version_of_secret(
        path=hf_token.path, mount_point=vault.target.mount)

    with pytest.raises(VaultError, match="whisper: HF_TOKEN"):
        check_secrets(workspace, [whisper])


def test_all_present_passes(workspace, vault):
    whisper = workspace.project.environment("whisper")
    store_all(vault, whisper)

    check_secrets(workspace, [whisper])


def with_vault(workspace, sandbox: Sandbox, address: str):
    """The workspace with the same moto but another Vault address."""
    running = Sandbox(sandbox.aws_endpoint, address, sandbox.vault_token, {})
    return open_workspace(load_project(workspace.project.root), sandbox=True, running=running)


def test_vault_down_stops_plan(workspace, sandbox, before):
    from envctl.sandbox.processes import free_port

    down = with_vault(workspace, sandbox, f"http://127.0.0.1:{free_port()}")

    with pytest.raises(VaultError, match=r"Vault at http://127\.0\.0\.1:\d+ \(from the sandbox\) "
                       r"is unreachable while trying to read its seal status"):
        plan_whisper(down)

    assert_untouched(workspace, *before)


def test_vault_down_stops_destroy(workspace, sandbox):
    from envctl.sandbox.processes import free_port

    down = with_vault(workspace, sandbox, f"http://127.0.0.1:{free_port()}")

    with pytest.raises(VaultError, match="is unreachable"):
        check_vault_for_removal(down, [down.project.environment("whisper")])


def test_destroy_without_secrets_needs_no_vault(workspace, sandbox):
    from envctl.sandbox.processes import free_port

    down = with_vault(workspace, sandbox, f"http://127.0.0.1:{free_port()}")

    check_vault_for_removal(down, [down.project.environment("go-dev")])


def test_no_secrets_needs_no_vault(workspace, sandbox):
    from envctl.sandbox.processes import free_port

    down = with_vault(workspace, sandbox, f"http://127.0.0.1:{free_port()}")

    check_secrets(down, [down.project.environment("go-dev")])


def test_no_vault_configured_names_vault_address(project_root):
    workspace = open_workspace(load_project(project_root), sandbox=False)
    for name in ("VAULT_ADDR", "VAULT_TOKEN"):
        workspace.env.pop(name, None)
    workspace.env["HOME"] = str(project_root)  # no ~/.vault-token there

    with pytest.raises(VaultError) as caught:
        check_secrets(workspace, [workspace.project.environment("whisper")])

    assert str(caught.value) == (
        "whisper names secrets but no Vault is configured; set vault.address in envctl.yaml "
        "(or VAULT_ADDR), or use --sandbox")


def test_missing_token_is_clear(project_root, sandbox):
    settings = project_root / "envctl.yaml"
    settings.write_text(settings.read_text() + f"  address: {sandbox.vault_address}\n")
    workspace = open_workspace(load_project(project_root), sandbox=False)
    workspace.env.pop("VAULT_TOKEN", None)
    workspace.env["HOME"] = str(project_root)

    with pytest.raises(VaultError, match="no Vault token for http://127.0.0.1:.*bao login"):
        check_secrets(workspace, [workspace.project.environment("whisper")])


@pytest.fixture
def sealed_sandbox(tmp_path: Path, sandbox: Sandbox):
    """A second OpenBao of its own, sealed, so the session's stays usable. A few seconds."""
    from envctl.sandbox import down, up
    from envctl.secrets.vault import Vault, VaultTarget

    own = up(tmp_path / "sealed")
    Vault(VaultTarget(own.vault_address, own.vault_token, "envctl", "test")).client.sys.seal()
    yield Sandbox(sandbox.aws_endpoint, own.vault_address, own.vault_token, {})
    down(tmp_path / "sealed")


def test_sealed_vault_stops_plan(workspace, sealed_sandbox, before):
    sealed = open_workspace(load_project(workspace.project.root), sandbox=True,
                            running=sealed_sandbox)

    with pytest.raises(VaultError, match=r"\(from the sandbox\) is sealed; unseal it"):
        plan_whisper(sealed)

    assert_untouched(workspace, *before)


def test_cli_plan_reports_missing_secret(envctl, workspace, before):
    result = envctl("plan", "whisper")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(
        "error: 4 named secrets are missing from Vault")
    assert "Traceback" not in result.stderr
    assert_untouched(workspace, *before)
