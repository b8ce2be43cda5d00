"""A canary value in every scope never reaches any artifact of a full plan, apply, scale and
destroy cycle: stacks, saved plans, plan JSON and text, state, user data, CLI output, logs.

Two environments of the examples (whisper for Bob, sd-dreambooth for Alice, both on the
gpu-pytorch template) name a secret in every scope. The cycle runs once for the module,
through the CLI where one exists: about three minutes, most of it Terraform waiting on moto.
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
    parse_env_file,
    run_fetcher,
    secrets_project,
)

from envctl.cli.main import cli
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
    fetched: dict[str, str] = field(default_factory=dict)
    summaries: list[str] = field(default_factory=list)


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
    from envctl.scaling import scale

    for name, scope in CANARY_SCOPES:
        run_cli(cycle, f"set {name} {scope}", "secrets", "set", name, "--scope", scope,
                "--sandbox", input=cycle.values[(name, scope)])
    run_cli(cycle, "ls", "secrets", "ls", "--sandbox")
    run_cli(cycle, "plan", "plan", *ENVIRONMENTS, "--out", str(cycle.root / "plans"),
            "--sandbox")
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
    handoff = run_cli(cycle, "handoff", "secrets", "handoff", "whisper", "--sandbox")
    _play_box(cycle, handoff.stdout, box_home)
    workspace = workspace_for(cycle.root, sandbox)
    scaled = scale(workspace, "sd-dreambooth", "t3.large")
    cycle.summaries.append(_plan_text(scaled.plan))
    for environment in ENVIRONMENTS:
        run_cli(cycle, f"destroy {environment}", "destroy", environment, "--yes", "--sandbox")
    cycle.policies["after destroy"] = _policies(cycle, sandbox)


def _play_box(cycle: Cycle, handoff_json: str, home: Path) -> None:
    """Run the fetcher as whisper's box would, outside the project folder."""
    import json

    result = run_fetcher(home, json.loads(handoff_json), home / "home")
    cycle.outputs["fetcher"] = result.stdout + result.stderr
    cycle.results["fetcher"] = result
    env_file = home / "home" / ".envctl" / "secrets.env"
    if env_file.exists():
        cycle.fetched = parse_env_file(env_file)


def _plan_text(plan) -> str:  # type: ignore[no-untyped-def]
    import json

    from envctl.cli.render import plan_summary

    return plan_summary(plan) + "\n" + json.dumps(plan.to_json(), default=str)


def _policies(cycle: Cycle, sandbox) -> list[str]:  # type: ignore[no-untyped-def]
    from envctl.secrets.vault import Vault, VaultTarget

    vault = Vault(VaultTarget(sandbox.vault_address, sandbox.vault_token, "envctl", "test"))
    keys = vault.client.sys.list_acl_policies()["data"]["keys"]
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
    assert [p for p in cycle.policies["after destroy"] if p in expected] == []


def test_box_received_its_scopes(cycle):
    assert cycle.fetched == {
        "HF_TOKEN": cycle.values[("HF_TOKEN", "template:gpu-pytorch")],
        "WANDB_API_KEY": cycle.values[("WANDB_API_KEY", "user:bob")],
        "DATASET_TOKEN": cycle.values[("DATASET_TOKEN", "env:whisper")],
    }


def test_canaries_in_no_artifact(cycle, tmp_path_factory):
    sources = files_under(cycle.root)
    sandbox_logs = list(tmp_path_factory.getbasetemp().glob("sandbox*/.envctl/sandbox/*.log"))
    sources.update({str(path): path.read_bytes() for path in sandbox_logs})
    sources.update({f"CLI {label}": text.encode() for label, text in cycle.outputs.items()})
    sources.update({f"summary {index}": text.encode()
                    for index, text in enumerate(cycle.summaries)})

    hits = find_canaries(list(cycle.values.values()), sources)

    assert hits == []
    kinds = {Path(name).suffix for name in sources}
    assert {".tfplan", ".json", ".txt", ".tfstate", ".log"} <= kinds, kinds
    assert sandbox_logs, "the sandbox's server logs were not found"


def test_scan_reaches_user_data(cycle):
    """The scan reads the user data inside the stack: a secret name (never a value) that the
    boot payload carries is found there, three layers down."""
    stacks = {str(path): path.read_bytes()
              for path in cycle.root.glob("cdktf.out/stacks/*/cdk.tf.json")}

    hits = find_canaries(["DATASET_TOKEN"], stacks)

    assert stacks
    assert any("base64/gzip/tar:data/environment.json" in hit for hit in hits), hits


def test_scan_finds_canary_in_user_data():
    """The scan is not blind: a canary packed the way user data packs files is found."""
    import base64

    from envctl.instance.payload import PayloadFile, pack

    value = canary("control")
    payload = base64.encodebytes(pack([PayloadFile("data/setup", value.encode())]))
    stack_json = ('{"user_data": "' + payload.decode().replace("\n", "\\n") + '"}').encode()

    assert find_canaries([value], {"stack": stack_json}) != []
    assert value.encode() not in stack_json
