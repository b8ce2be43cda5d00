"""A plan by someone other than the owner keeps the owner's layer, so it never replaces the box.

alice applies sd-box with her SSH key, dotfiles and setup script. Then bob plans it, and CI
without any settings plans it. Last, alice changes her dotfiles' ref. Real Terraform,
hashicorp/aws 3.39.0 and moto: about a minute.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.definitions.loader import load_project
from envctl.planning.run import apply_plans, plan_environments
from envctl.sandbox import Sandbox
from envctl.workspace import open_workspace

pytestmark = pytest.mark.e2e

ALICE = """name: alice
ssh_public_key: ~/.ssh/id_ed25519.pub
dotfiles:
  url: https://github.com/alice/dotfiles
  ref: main
setup: |
  #!/bin/bash
  echo "alice's own tools"
"""


def plan(project: Path, sandbox: Sandbox, folder: str) -> tuple:
    workspace = open_workspace(load_project(project), sandbox=True, running=sandbox)
    spec = workspace.project.environment("sd-box")
    return workspace, plan_environments(workspace, [spec], project / folder)


def test_only_the_owner_changes_the_owners_layer(cloud_project, fresh_cloud, home,
                                                settings_file):
    settings = settings_file(ALICE)
    workspace, plans = plan(cloud_project, fresh_cloud, "plans-alice")
    apply_plans(workspace, plans)

    settings.write_text("name: bob\nssh_public_key: ~/.ssh/id_ed25519.pub\n")
    _, by_bob = plan(cloud_project, fresh_cloud, "plans-bob")
    settings.unlink()
    _, by_ci = plan(cloud_project, fresh_cloud, "plans-ci")
    settings_file(ALICE.replace("ref: main", "ref: v2"))
    _, by_alice = plan(cloud_project, fresh_cloud, "plans-alice-v2")

    assert not by_bob[0].has_changes, by_bob[0].changes
    assert not by_ci[0].has_changes, by_ci[0].changes
    assert ("aws_instance.instance", "replace") in by_alice[0].changes
