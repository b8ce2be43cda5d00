"""The owner's key pair and personal layer in the synthesized stack, and only the owner's."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import tarfile

import pytest
from access_support import PUBLIC_KEY
from tests_support import boot_script

from envctl.definitions.loader import load_project
from envctl.personal import load_user_settings

ALICE = """\
name: alice
ssh_public_key: ~/.ssh/id_ed25519.pub
dotfiles:
  url: https://github.com/alice/dotfiles
  ref: main
setup: echo personal-marker
"""


@pytest.fixture
def synth(project):
    """Synthesize sd-box with the current user's settings; return its Terraform JSON."""
    from envctl.cdk.app import synth_project
    from envctl.terraform.runner import STACK_FILE

    def run():
        loaded = load_project(project)
        spec = loaded.environment("sd-box")
        folders = synth_project(loaded, [spec], user=load_user_settings())
        return spec, json.loads((folders[spec.id] / STACK_FILE).read_text())

    return run


def payload_names(user_data: str) -> dict[str, bytes]:
    """Unpack the archive that the user data carries; return its files by name."""
    encoded = re.search(r"base64 -d <<'?(\w+)'?[^\n]*\n(.*?)\n\1\n", user_data, re.DOTALL)
    assert encoded, user_data[:400]
    archive = gzip.decompress(base64.b64decode(encoded.group(2)))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {member.name: tar.extractfile(member).read()
                for member in tar.getmembers() if member.isfile()}


def test_owner_gets_key_pair_and_personal_layer(settings_file, synth):
    settings_file(ALICE)

    spec, stack = synth()

    key_pair = stack["resource"]["aws_key_pair"]["ssh_key"]
    assert key_pair["key_name"] == f"envctl-{spec.id}"
    assert key_pair["public_key"] == PUBLIC_KEY
    assert key_pair["tags"]["envctl:environment-id"] == spec.id
    instance = stack["resource"]["aws_instance"]["instance"]
    assert instance["key_name"] == "${aws_key_pair.ssh_key.key_name}"
    files = payload_names(boot_script(instance))
    assert files["data/personal-setup"] == b"echo personal-marker"
    assert b"https://github.com/alice/dotfiles\0main\0" in files["data/dotfiles.list"]


def test_teammate_settings_stay_out(settings_file, synth):
    settings_file(ALICE.replace("name: alice", "name: bob"))

    _, stack = synth()

    assert "aws_key_pair" not in stack["resource"]
    instance = stack["resource"]["aws_instance"]["instance"]
    assert "key_name" not in instance
    files = payload_names(boot_script(instance))
    assert "data/personal-setup" not in files
    assert "data/dotfiles.list" not in files
