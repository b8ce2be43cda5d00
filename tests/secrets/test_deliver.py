"""envctl secrets deliver: a new handoff goes over ssh's stdin into /run/envctl on the box.

The sandbox runs no virtual machines, so a stand-in ssh on PATH records its arguments and
stdin. The test then runs the recorded remote command with /run/envctl moved into a temporary
folder, and the shipped fetcher reads the file it leaves, as the boot would.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from secrets_support import canary, parse_env_file, run_fetcher

from envctl.secrets.handoff import BOX_INSTALL_COMMAND
from envctl.secrets.scopes import Scope
from envctl.secrets.store import put_secret

STAND_IN_SSH = """#!{python}
import json, sys
with open({folder!r} + "/ssh.argv", "w") as argv:
    json.dump(sys.argv[1:], argv)
with open({folder!r} + "/ssh.stdin", "wb") as stdin:
    stdin.write(sys.stdin.buffer.read())
sys.exit({status})
"""


@pytest.fixture
def stand_in_ssh(tmp_path, monkeypatch):
    """Install an ssh that records its call and exits with the given status."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")

    def install(status: int = 0) -> Path:
        program = folder / "ssh"
        program.write_text(STAND_IN_SSH.format(python=sys.executable, folder=str(folder),
                                               status=status))
        program.chmod(0o755)
        return folder

    return install


@pytest.fixture
def running_whisper(workspace, fresh_cloud):
    """whisper's instance running on the sandbox, tagged as its stack tags it."""
    spec = workspace.project.environment("whisper")
    ec2 = boto3.client("ec2", **fresh_cloud.client_settings(spec.region))
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.large",
                      Placement={"AvailabilityZone": spec.availability_zone},
                      TagSpecifications=[{"ResourceType": "instance", "Tags": [
                          {"Key": "envctl:environment-id", "Value": spec.id},
                          {"Key": "Name", "Value": spec.name}]}])
    return spec


@pytest.fixture
def stored(vault, running_whisper):
    values = {}
    for secret in running_whisper.secrets:
        scope = {"template": Scope("template", "gpu-pytorch", "gpu-pytorch"),
                 "user": Scope("user", "bob", "bob"),
                 "environment": Scope("environment", running_whisper.id, "whisper")}
        values[secret.name] = canary(secret.name.lower())
        put_secret(vault, scope[secret.scope], secret.name, values[secret.name])
    return values


def test_deliver_sends_handoff_on_stdin(envctl, home, stand_in_ssh, stored, tmp_path):
    folder = stand_in_ssh()

    result = envctl("secrets", "deliver", "whisper")

    assert result.exit_code == 0, result.stderr
    assert "handoff delivered to /run/envctl/secrets-handoff.json" in result.stdout
    argv = json.loads((folder / "ssh.argv").read_text())
    assert argv[-3:] == ["--", "envctl-whisper", BOX_INSTALL_COMMAND]
    handoff = json.loads((folder / "ssh.stdin").read_bytes())
    assert handoff["environment"] == "whisper"
    for value in stored.values():
        assert value not in result.output
        assert value not in json.dumps(handoff)
        assert value not in json.dumps(argv)


def test_delivered_file_feeds_fetcher(envctl, home, stand_in_ssh, stored, tmp_path):
    """The remote command, run with /run/envctl in a temporary folder, leaves a file that
    only its owner reads, and the fetcher reads the box's secrets with it."""
    folder = stand_in_ssh()
    assert envctl("secrets", "deliver", "whisper").exit_code == 0
    box = tmp_path / "box"
    box.mkdir()
    command = BOX_INSTALL_COMMAND.removeprefix("sudo ").replace("/run/envctl", str(box))

    subprocess.run(["sh", "-c", command], input=(folder / "ssh.stdin").read_bytes(),
                   check=True)

    delivered = box / "secrets-handoff.json"
    assert stat.S_IMODE(delivered.stat().st_mode) == 0o600
    assert not (box / "secrets-handoff.json.partial").exists()
    result = run_fetcher(box, None, tmp_path / "home-on-box")
    assert result.returncode == 0, result.stderr
    fetched = parse_env_file(tmp_path / "home-on-box" / ".envctl" / "secrets.env")
    assert fetched == {name: value for name, value in stored.items()
                       if name != "AWS_CREDENTIALS"}


def test_failed_ssh_is_one_clear_line(envctl, home, stand_in_ssh, stored):
    stand_in_ssh(status=255)

    result = envctl("secrets", "deliver", "whisper")

    assert result.exit_code == 1
    assert "whisper: ssh exited with status 255 while delivering the handoff" in result.stderr
    assert "`envctl secrets deliver whisper` again" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_secret_stops_before_ssh(envctl, home, stand_in_ssh, running_whisper):
    folder = stand_in_ssh()

    result = envctl("secrets", "deliver", "whisper")

    assert result.exit_code == 1
    assert "named secrets are missing from Vault" in result.stderr
    assert not (folder / "ssh.argv").exists()
