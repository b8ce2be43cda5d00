"""Checks that keep a plan from losing the data volume, run around `terraform plan`.

Two cases need more than the data-impact label:

- A shrunk volume. EBS volumes cannot shrink, and provider 3.39.0 plans a shrink as an
  in-place update that fails at apply, so the size is compared with the state before
  Terraform runs.
- A forced replacement. The volume has prevent_destroy, so Terraform itself rejects the plan
  ("Instance cannot be destroyed") without saying why. envctl then plans a copy of the stack
  without prevent_destroy, only to read which change forces the replacement, and raises
  DataLossRefused with that cause and the safe alternative. The copy is never applied.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from envctl.definitions.spec import EnvironmentSpec
from envctl.definitions.yamlfile import line_of, read_yaml
from envctl.errors import DataLossRefused, DefinitionError, TerraformFailed
from envctl.planning.deployed import raw_state, recorded_attributes
from envctl.planning.impact import VOLUME_TYPE, data_impact, data_loss_message
from envctl.terraform.results import PlanOutcome
from envctl.terraform.runner import StackRunner
from envctl.workspace import Workspace

log = logging.getLogger(__name__)

VOLUME_NAME = "data_volume"
PREVENT_DESTROY_ERROR = "Instance cannot be destroyed"


def allowed_ids(specs: Sequence[EnvironmentSpec],
                allow_data_loss: Sequence[str]) -> frozenset[str]:
    """The ids of the specs that allow_data_loss names, by name or id."""
    named = set(allow_data_loss)
    return frozenset(spec.id for spec in specs if named & {spec.name, spec.id})


def recorded_volume(workspace: Workspace, spec: EnvironmentSpec,
                    runner: StackRunner | None = None) -> dict[str, Any] | None:
    """The data volume's attributes in the environment's state, or None when it has none.

    The local backend's state file is read directly, without Terraform; other backends need
    runner, an initialized StackRunner of the stack, and return None without one.
    """
    if workspace.project.settings.state.backend == "local":
        return recorded_attributes(raw_state(workspace, spec) or {}, VOLUME_TYPE, VOLUME_NAME)
    if runner is None:
        return None
    root = runner.show_state().get("values", {}).get("root_module", {})
    for resource in root.get("resources", []):
        if resource["address"] == f"{VOLUME_TYPE}.{VOLUME_NAME}":
            return dict(resource["values"])
    return None


def check_volume_size(workspace: Workspace, spec: EnvironmentSpec,
                      runner: StackRunner | None = None) -> None:
    """Raise DefinitionError when volume.size_gb is below the size of the volume in state."""
    volume = recorded_volume(workspace, spec, runner)
    if volume is None or volume.get("size") is None:
        return
    current = int(volume["size"])
    if spec.volume.size_gb >= current:
        return
    line = line_of(read_yaml(spec.source), ("volume", "size_gb"))
    raise DefinitionError(
        str(spec.source), line, "volume.size_gb",
        f"{spec.volume.size_gb} GiB is smaller than the volume's current {current} GiB "
        f"({volume.get('id', 'in state')}), and EBS volumes cannot shrink",
        f"set size_gb to {current} or more")


def plan_guarded(runner: StackRunner, spec: EnvironmentSpec, plan_file: Path) -> PlanOutcome:
    """Plan like runner.plan; turn a prevent_destroy rejection into DataLossRefused."""
    try:
        return runner.plan(plan_file)
    except TerraformFailed as error:
        if PREVENT_DESTROY_ERROR not in error.stderr or VOLUME_NAME not in error.stderr:
            raise
    impact = data_impact(diagnostic_plan(runner, plan_file.parent))
    raise DataLossRefused(data_loss_message(spec.name, impact))


def diagnostic_plan(runner: StackRunner, scratch_parent: Path) -> dict[str, Any]:
    """Plan a copy of the stack without prevent_destroy and return the plan's JSON.

    The copy shares the stack's state (read only: a plan writes none) and its initialized
    providers, and is deleted afterwards, so no stack without the protection stays on disk.
    """
    scratch_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".diagnose-", dir=scratch_parent) as scratch:
        copy = Path(scratch) / "stack"
        shutil.copytree(runner.stack_dir, copy, symlinks=True)
        _lift_prevent_destroy(copy / "cdk.tf.json")
        diagnosis = StackRunner(runner.environment, copy, runner.engine, env=runner.env,
                                cli_config=runner.cli_config)
        log.info("%s: planning without prevent_destroy to find what replaces the volume",
                 runner.environment)
        return diagnosis.plan(Path(scratch) / "diagnosis.tfplan").plan


def _lift_prevent_destroy(stack_file: Path) -> None:
    stack = json.loads(stack_file.read_text())
    volume = stack["resource"][VOLUME_TYPE][VOLUME_NAME]
    volume.get("lifecycle", {}).pop("prevent_destroy", None)
    stack_file.write_text(json.dumps(stack))
