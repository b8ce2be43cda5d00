"""A canary value in every scope never reaches any artifact of a full plan, apply, scale and
destroy cycle: stacks, saved plans, plan JSON and text, state, user data, CLI output, logs.

Two environments of the examples (whisper for Bob, sd-dreambooth for Alice, both on the
gpu-pytorch template) name a secret in every scope. The cycle runs once for the module,
through the CLI: about three minutes, most of it Terraform waiting on moto. The project's
files are kept after apply and after scale too, because destroy rewrites the state, and the
user data is read back from EC2 as it returns it: base64 of the gzip-compressed boot script.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from e2e_support import workspace_for
from secrets_support import (
    canary,
    files_under,
    find_canaries,
    packed_file,
    parse_env_file,
    run_fetcher,
    secrets_project,
)

from envctl.cli.main import cli
from envctl.sandbox import reset_cloud
from envctl.sandbox.record import write_record

pytestmark = pytest.mark.e2e

ENVIRONMENTS = ("whisper", "sd-dreambooth")
# (name, --scope) of every canary: each scope kind, and both owners' user scopes.
CANARY_SCOPES = [
    ("HF_TOKEN", "template:gpu-pytorch"),
    ("WANDB_API_KEY", "user:bob"),
    ("AWS_CREDENTIALS", "user:bob"),
    ("WANDB_API_KEY", "user:alice"),
    ("DATASET_TOKEN", "env:whisper"),
    ("DATASET_TOKEN", "env:sd-dreambooth"),
]


@dataclass
class Cycle:
    """What the cycle left behind: the project, every CLI result and log line, and checks
    made along the way."""

    root: Path
    values: dict[tuple[str, str], str]
    outputs: dict[str, str] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    policies: dict[str, list[str]] = field(default_factory=dict)
    roles: dict[str, list[str]] = field(default_factory=dict)
    fetched: dict[str, str] = field(default_factory=dict)
    # "user data STAGE INSTANCE ENVIRONMENT": the user data as DescribeInstanceAttribute
    # returns it, still base64.
    user_data: dict[str, bytes] = field(default_factory=dict)
    # "STAGE PATH": every file of the project at a stage before the end.
    kept_files: dict[str, bytes] = field(default_factory=dict)


class LogFile(logging.Handler):
    """Every log record of the cycle, at DEBUG, in a file under the project."""

    def __init__(self, path: Path):
        super().__init__(logging.DEBUG)
        self.stream = path.open("a")

    def emit(self, record: logging.LogRecord) -> None:
        self.stream.write(self.format(record) + "\n")


def run_cli(cycle: Cycle, label: str, *args: str, input: str | None = None,
            expected_exit: int = 0) -> Any:
    """Run one envctl command, keep its output, and stop the cycle on an unexpected exit."""
    result = CliRunner().invoke(cli, ["--project", str(cycle.root), *args], input=input,
                                env={"VAULT_ADDR": None, "VAULT_TOKEN": None})
    cycle.outputs[label] = result.stdout + "\n" + result.stderr
    cycle.results[label] = result
    assert result.exit_code == expected_exit, (label, result.output)
    return result


@pytest.fixture(scope="module")
def cycle(tmp_path_factory, sandbox):
    """Set the canaries, plan, apply, fetch on the box, scale and destroy, once."""
    # Earlier tests may have launched instances tagged with the same environment ids.
    reset_cloud(sandbox)
    root = secrets_project(tmp_path_factory.mktemp("canary") / "project")
    write_record(root, sandbox)
    values = {key: canary(key[0].lower()) for key in CANARY_SCOPES}
    done = Cycle(root, values)
    log_file = LogFile(root / "cycle-debug.log")
    logging.getLogger().addHandler(log_file)
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        _run_cycle(done, sandbox, tmp_path_factory.mktemp("box"))
    finally:
        logging.getLogger().removeHandler(log_file)
        logging.getLogger().setLevel(level)
        log_file.stream.close()
    return done


def _run_cycle(cycle: Cycle, sandbox, box_home: Path) -> None:  # type: ignore[no-untyped-def]
    for name, scope in CANARY_SCOPES:
        run_cli(cycle, f"set {name} {scope}", "secrets", "set", name, "--scope", scope,
                "--sandbox", input=cycle.values[(name, scope)])
    run_cli(cycle, "ls", "secrets", "ls", "--sandbox")
    # The pull-request comment goes to stdout; review.md and review.json go with the plans.
    run_cli(cycle, "plan", "plan", *ENVIRONMENTS, "--out", str(cycle.root / "plans"),
            "--format", "markdown", "--sandbox")
    _keep_files(cycle, "after plan")
    cycle.results["cloud before apply"] = _cloud(sandbox)
    # A secret removed between plan and apply stops the apply before any cloud change.
    run_cli(cycle, "rm", "secrets", "rm", "WANDB_API_KEY", "--scope", "user:alice", "--yes",
            "--sandbox")
    run_cli(cycle, "apply without secret", "apply", *ENVIRONMENTS, "--plan-dir",
            str(cycle.root / "plans"), "--yes", "--sandbox", expected_exit=1)
    cycle.results["cloud after refused apply"] = _cloud(sandbox)
    run_cli(cycle, "set again", "secrets", "set", "WANDB_API_KEY", "--scope", "user:alice",
            "--sandbox", input=cycle.values[("WANDB_API_KEY", "user:alice")])
    run_cli(cycle, "apply", "apply", *ENVIRONMENTS, "--plan-dir", str(cycle.root / "plans"),
            "--yes", "--sandbox")
    cycle.policies["after apply"] = _policies(cycle, sandbox)
    cycle.roles["after apply"] = _roles(sandbox)
    _keep_files(cycle, "after apply")
    _keep_user_data(cycle, sandbox, "after apply")
    handoff = run_cli(cycle, "handoff", "secrets", "handoff", "whisper", "--sandbox")
    _play_box(cycle, handoff.stdout, box_home)
    run_cli(cycle, "scale", "scale", "sd-dreambooth", "--type", "t3.large", "--apply", "--yes",
            "--sandbox")
    _keep_files(cycle, "after scale")
    _keep_user_data(cycle, sandbox, "after scale")
    for environment in ENVIRONMENTS:
        run_cli(cycle, f"destroy {environment}", "destroy", environment, "--yes", "--sandbox")
    cycle.policies["after destroy"] = _policies(cycle, sandbox)
    cycle.roles["after destroy"] = _roles(sandbox)


def _keep_files(cycle: Cycle, stage: str) -> None:
    cycle.kept_files.update({f"{stage} {path}": data
                             for path, data in files_under(cycle.root).items()})


def _keep_user_data(cycle: Cycle, sandbox, stage: str) -> None:  # type: ignore[no-untyped-def]
    """Read back the user data of the cycle's instances, exactly as EC2 returns it."""
    workspace = workspace_for(cycle.root, sandbox)
    ec2 = workspace.client("ec2", "us-east-1")
    for environment in ENVIRONMENTS:
        spec = workspace.project.environment(environment)
        found = ec2.describe_instances(Filters=[
            {"Name": "tag:envctl:environment-id", "Values": [spec.id]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]},
        ])["Reservations"]
        for instance in (i for r in found for i in r["Instances"]):
            attribute = ec2.describe_instance_attribute(InstanceId=instance["InstanceId"],
                                                        Attribute="userData")
            value = attribute["UserData"]["Value"].encode()
            cycle.user_data[f"user data {stage} {instance['InstanceId']} {environment}"] = value


def _play_box(cycle: Cycle, handoff_json: str, home: Path) -> None:
    """Run the fetcher that whisper's user data carries, as its box would, outside the project
    folder."""
    import json

    user_data = next(value for label, value in cycle.user_data.items()
                     if label.endswith(" whisper"))
    fetcher = packed_file(user_data, "secrets/fetch.py")
    assert fetcher is not None, "whisper's user data carries no secrets/fetch.py"
    result = run_fetcher(home, json.loads(handoff_json), home / "home", source=fetcher)
    cycle.outputs["fetcher"] = result.stdout + result.stderr
    cycle.results["fetcher"] = result
    env_file = home / "home" / ".envctl" / "secrets.env"
    if env_file.exists():
        cycle.fetched = parse_env_file(env_file)


def _policies(cycle: Cycle, sandbox) -> list[str]:  # type: ignore[no-untyped-def]
    from envctl.secrets.vault import Vault, VaultTarget

    vault = Vault(VaultTarget(sandbox.vault_address, sandbox.vault_token, "envctl", "test"))
    keys = vault.client.sys.list_acl_policies()["data"]["keys"]
    return sorted(key for key in keys if key.startswith("envctl-"))


def _roles(sandbox) -> list[str]:  # type: ignore[no-untyped-def]
    """The AppRole roles in the sandbox's Vault; none when AppRole has none or is not enabled."""
    import hvac.exceptions

    from envctl.secrets.vault import Vault, VaultTarget

    vault = Vault(VaultTarget(sandbox.vault_address, sandbox.vault_token, "envctl", "test"))
    try:
        keys = vault.client.auth.approle.list_roles()["data"]["keys"]
    except hvac.exceptions.InvalidPath:
        return []
    return sorted(key for key in keys if key.startswith("envctl-"))


def _cloud(sandbox) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    """The ids of every instance, volume and security group in the sandbox."""
    import boto3
    from botocore.config import Config

    ec2 = boto3.client("ec2", config=Config(proxies={}), **sandbox.client_settings())
    reservations = ec2.describe_instances()["Reservations"]
    return {
        "instances": {i["InstanceId"] for r in reservations for i in r["Instances"]},
        "volumes": {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]},
        "groups": {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]},
    }


def test_cycle_ran_every_step(cycle):
    assert cycle.results["fetcher"].returncode == 0, cycle.outputs["fetcher"]
    assert "envctl secrets deliver whisper" in cycle.outputs["apply"]
    assert "envctl secrets deliver sd-dreambooth" in cycle.outputs["apply"]
    for environment in ENVIRONMENTS:
        assert "data volume" in cycle.outputs[f"destroy {environment}"]


def test_apply_without_secret_changed_nothing(cycle):
    refused = cycle.results["apply without secret"]

    assert refused.exit_code == 1
    assert "1 named secret is missing from Vault: sd-dreambooth: WANDB_API_KEY (user alice" in (
        refused.stderr)
    assert cycle.results["cloud after refused apply"] == cycle.results["cloud before apply"]


def test_apply_granted_and_destroy_revoked(cycle):
    expected = ["envctl-env-5cc2ae3c", "envctl-env-aee924a3"]

    assert [p for p in cycle.policies["after apply"] if p in expected] == expected
    assert [r for r in cycle.roles["after apply"] if r in expected] == expected
    assert [p for p in cycle.policies["after destroy"] if p in expected] == []
    assert [r for r in cycle.roles["after destroy"] if r in expected] == []


def test_box_received_its_scopes(cycle):
    assert cycle.fetched == {
        "HF_TOKEN": cycle.values[("HF_TOKEN", "template:gpu-pytorch")],
        "WANDB_API_KEY": cycle.values[("WANDB_API_KEY", "user:bob")],
        "DATASET_TOKEN": cycle.values[("DATASET_TOKEN", "env:whisper")],
    }


def test_canaries_in_no_artifact(cycle, tmp_path_factory):
    sources = files_under(cycle.root)
    sources.update(cycle.kept_files)
    sources.update(cycle.user_data)
    sandbox_logs = list(tmp_path_factory.getbasetemp().glob("sandbox*/.envctl/sandbox/*.log"))
    sources.update({str(path): path.read_bytes() for path in sandbox_logs})
    sources.update({f"CLI {label}": text.encode() for label, text in cycle.outputs.items()})

    hits = find_canaries(list(cycle.values.values()), sources)

    assert hits == []
    kinds = {Path(name).suffix for name in sources}
    assert {".tfplan", ".json", ".txt", ".tfstate", ".log"} <= kinds, kinds
    assert sandbox_logs, "the sandbox's server logs were not found"
    assert str(cycle.root / "plans" / "review.md") in sources
    assert "DATASET_TOKEN" in cycle.outputs["plan"]
    stages = {label.split(" ")[3] for label in cycle.user_data}
    assert stages == {"apply", "scale"}, cycle.user_data.keys()


# The layers of the user data as EC2 returns it and as the state contains it: base64 of the
# gzip-compressed script, and in the script the payload, base64 of a gzip-compressed tar.
USER_DATA_LAYERS = "base64/gzip/base64/gzip/tar:"


def test_scan_reaches_user_data(cycle):
    """The scan decodes the user data that EC2 returns down to the payload's files: a secret
    name (never a value) that the payload carries is found there, as is the fetcher."""
    names = find_canaries(["DATASET_TOKEN"], cycle.user_data)
    fetchers = find_canaries(["envctl-secrets: "], cycle.user_data)

    assert len(cycle.user_data) == 2 * len(ENVIRONMENTS), cycle.user_data.keys()
    for label, value in cycle.user_data.items():
        assert b"DATASET_TOKEN" not in value
        assert f"{label} {USER_DATA_LAYERS}data/environment.json contains DATASET_TOKEN" in (
            names)
        assert f"{label} {USER_DATA_LAYERS}secrets/fetch.py contains envctl-secrets: " in (
            fetchers)


def test_scan_reaches_user_data_in_state(cycle):
    """The state contains the same compressed user data, and the scan decodes it there too."""
    states = {label: data for label, data in cycle.kept_files.items()
              if label.startswith("after apply ") and "/.envctl/sandbox/state/" in label
              and label.endswith(".tfstate")}

    hits = find_canaries(["DATASET_TOKEN"], states)

    assert len(states) == len(ENVIRONMENTS), states.keys()
    for label in states:
        assert f"{label} {USER_DATA_LAYERS}data/environment.json contains DATASET_TOKEN" in hits


def test_scan_finds_canary_in_user_data(tmp_path):
    """The scan is not blind: a canary in a setup script, packed into user data the way the
    stack packs it and Terraform's base64gzip compresses it, is found."""
    import base64
    import gzip

    from envctl.definitions.loader import load_project
    from envctl.instance.userdata import VOLUME_ID_PLACEHOLDER, render_user_data

    value = canary("control")
    whisper = load_project(secrets_project(tmp_path / "project")).environment("whisper")
    spec = whisper.model_copy(update={"setup": f"echo {value}\n"})
    script = render_user_data(spec, volume_id=VOLUME_ID_PLACEHOLDER)
    returned = base64.b64encode(gzip.compress(script.encode(), mtime=0))

    hits = find_canaries([value], {"user data": returned})

    assert f"user data {USER_DATA_LAYERS}data/setup contains {value}" in hits
    assert value.encode() not in returned
