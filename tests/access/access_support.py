"""Helpers for access tests: recording programs on PATH, a key pair, and instances on moto.

Instances here come from RunInstances on the sandbox, tagged as envctl tags them, so these
tests take seconds; test_open_e2e covers an environment that Terraform applied.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from moto_instances import describe, run_instance
from tests_support import GOOD_ENVIRONMENT

from envctl.definitions.spec import EnvironmentSpec
from envctl.sandbox import Sandbox

# sd-box (owner alice) on an image that the sandbox has, naming no secrets. Autostop is off,
# so what these tests check does not depend on the size of the autostop agent.
ENVIRONMENT = re.sub(r"^secrets:\n(?:  .*\n)+", "", GOOD_ENVIRONMENT.replace(
    "ami-0123456789abcdef0", "ami-08a3ba5563e8b6ae3").replace(
    "idle_minutes: 45", "idle_minutes: null"), flags=re.MULTILINE)

# The real OpenSSH client, found before any test puts a recording ssh first on PATH.
SSH = shutil.which("ssh") or "/usr/bin/ssh"

# A well-formed ed25519 public key line; no private key exists for it.
PUBLIC_KEY = "ssh-ed25519 " + base64.b64encode(
    b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(32))).decode() + " alice@laptop"

RECORDER = """#!{python}
import json, os, sys
folder = {folder!r}
name = os.path.basename(sys.argv[0])
with open(os.path.join(folder, name + ".calls"), "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
status = os.path.join(folder, name + ".rc")
sys.exit(int(open(status).read()) if os.path.exists(status) else 0)
"""


class Recorders:
    """Programs on PATH that record their arguments instead of doing anything."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def install(self, name: str, exit_status: int = 0) -> None:
        program = self.folder / name
        program.write_text(RECORDER.format(python=sys.executable, folder=str(self.folder)))
        program.chmod(0o755)
        (self.folder / f"{name}.rc").write_text(str(exit_status))

    def calls(self, name: str) -> list[list[str]]:
        path = self.folder / f"{name}.calls"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


def launch(sandbox: Sandbox, spec: EnvironmentSpec, stopped: bool = False) -> dict[str, Any]:
    """Run the environment's instance with boto3, tagged as envctl tags it, and return it."""
    return describe(sandbox, run_instance(sandbox, spec, stopped=stopped))


def ssh_settings(user_config: Path, host: str) -> dict[str, list[str]]:
    """Run the real `ssh -G`, which only parses configuration, and return its settings."""
    completed = subprocess.run([SSH, "-G", "-F", str(user_config), host], capture_output=True,
                               text=True, check=True, env={**os.environ, "LC_ALL": "C"})
    settings: dict[str, list[str]] = {}
    for line in completed.stdout.splitlines():
        key, _, value = line.partition(" ")
        settings.setdefault(key, []).append(value)
    return settings
