"""An applied environment with the owner's key pair, opened in a (recording) editor.

Real Terraform, hashicorp/aws 3.39.0 and moto: about 30 s for the one apply.
"""

from __future__ import annotations

import pytest
from access_support import PUBLIC_KEY, ssh_settings
from click.testing import CliRunner

from envctl.cli.main import cli
from envctl.definitions.loader import load_project
from envctl.planning.run import apply_plans, plan_environments
from envctl.sandbox.record import write_record
from envctl.sshconfig import user_ssh_config
from envctl.workspace import open_workspace

pytestmark = pytest.mark.e2e

ALICE = "name: alice\nssh_public_key: ~/.ssh/id_ed25519.pub\n"


def test_applied_environment_opens_with_owner_key(project, fresh_cloud, recorders, home,
                                                   settings_file):
    write_record(project, fresh_cloud)
    settings_file(ALICE)
    recorders.install("code")
    workspace = open_workspace(load_project(project), sandbox=True, running=fresh_cloud)
    spec = workspace.project.environment("sd-box")

    plans = plan_environments(workspace, [spec], project / "plans")
    results = apply_plans(workspace, plans)
    opened = CliRunner().invoke(cli, ["--project", str(project), "open", "sd-box",
                                      "--sandbox", "--yes"])

    assert opened.exit_code == 0, opened.stderr
    ec2 = workspace.client("ec2", spec.region)
    key_pair = ec2.describe_key_pairs(KeyNames=[f"envctl-{spec.id}"])["KeyPairs"][0]
    assert key_pair["KeyName"] == f"envctl-{spec.id}"
    instance_id = results[0].outputs["instance_id"]
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0][
        "Instances"][0]
    assert instance["KeyName"] == f"envctl-{spec.id}"
    settings = ssh_settings(user_ssh_config(), "envctl-sd-box")
    assert settings["hostname"] == [instance["PublicIpAddress"]]
    assert settings["identityfile"] == [str(home / ".ssh" / "id_ed25519")]
    assert recorders.calls("code") == [["--remote", "ssh-remote+envctl-sd-box",
                                        "/data/workspace"]]
    assert PUBLIC_KEY.split()[1] not in (project / "environments" / "sd-box.yaml").read_text()
