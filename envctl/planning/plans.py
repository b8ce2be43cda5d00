"""Plan: pin images, synthesize, and save a Terraform plan per environment. Changes nothing else.

A plan folder holds, per environment, the saved plan (NAME.tfplan), its JSON (NAME.plan.json)
and the text Terraform printed (NAME.plan.txt), plus manifest.json, which records the hash of
the stack each plan was made from so apply can refuse a stale one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from envctl.backups.policy import backup_summary
from envctl.definitions.loader import load_project
from envctl.definitions.spec import EnvironmentSpec
from envctl.images import pin_image, resolve_ami
from envctl.planning.deployed import deployed_layer
from envctl.planning.impact import DataImpact, action_of, data_impact, managed_changes
from envctl.terraform.runner import STACK_FILE
from envctl.workspace import Workspace

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
# Stack outputs that follow the box's run state: AWS releases a stopped instance's public
# address, so a stop or start outside Terraform changes them with nothing to apply.
RUN_STATE_OUTPUTS = frozenset({"public_ip"})
Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class EnvironmentPlan:
    """One environment's saved plan and what it does."""

    environment: str
    environment_id: str
    plan_file: Path
    json_file: Path
    stack_sha256: str
    has_changes: bool
    counts: dict[str, int]
    impact: DataImpact
    changes: tuple[tuple[str, str], ...]
    destroy: bool = False
    # The backup schedule and final-snapshot setting, for the summary; None without backup.
    backup: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["plan_file"] = str(self.plan_file)
        data["json_file"] = str(self.json_file)
        data["impact"] = {**asdict(self.impact), "label": self.impact.label()}
        data["changes"] = [list(pair) for pair in self.changes]
        return data


def pin_images(workspace: Workspace, specs: Sequence[EnvironmentSpec]) -> list[EnvironmentSpec]:
    """Resolve and pin every unpinned image, then return the specs reloaded from disk."""
    pinned_any = False
    for spec in specs:
        if spec.image.resolved_ami:
            continue
        ec2 = workspace.client("ec2", spec.region)
        ssm = workspace.client("ssm", spec.region)
        pin_image(spec, resolve_ami(spec, ec2, ssm))
        pinned_any = True
    if not pinned_any:
        return list(specs)
    workspace.project = load_project(workspace.project.root)
    return [workspace.project.environment(spec.id) for spec in specs]


def synthesize(workspace: Workspace, specs: Sequence[EnvironmentSpec],
               allow_volume_deletion: frozenset[str] = frozenset()) -> dict[str, Path]:
    """Synthesize the stacks of specs; the CDK layer is imported only here."""
    from envctl.cdk.app import synth_project
    from envctl.personal import load_user_settings, owns

    # The owner's personal layer and SSH key come from the owner's settings. Anyone else
    # keeps those that the state records, so their plan does not replace the owner's box.
    user = load_user_settings()
    deployed = {spec.id: deployed_layer(workspace, spec) for spec in specs
                if not owns(user, spec)}
    return synth_project(workspace.project, specs, sandbox_endpoint=workspace.sandbox_endpoint,
                         allow_volume_deletion=allow_volume_deletion, user=user,
                         deployed=deployed)


def stack_sha256(folder: Path) -> str:
    return hashlib.sha256((folder / STACK_FILE).read_bytes()).hexdigest()


def summarize(spec: EnvironmentSpec, folder: Path, plan_file: Path, plan: dict[str, Any],
              has_changes: bool, destroy: bool = False) -> EnvironmentPlan:
    """Condense a plan's JSON into counts, per-resource actions and the data-impact label."""
    counts = {"add": 0, "change": 0, "destroy": 0}
    changes = []
    for change in plan.get("resource_changes", []):
        if change.get("mode") == "data":
            continue
        action = action_of(change)
        if action in ("no-op", "read"):
            continue
        changes.append((change["address"], action))
        if action in ("create", "replace"):
            counts["add"] += 1
        if action in ("delete", "replace"):
            counts["destroy"] += 1
        if action == "update":
            counts["change"] += 1
    return EnvironmentPlan(
        environment=spec.name,
        environment_id=spec.id,
        plan_file=plan_file,
        json_file=plan_file.with_suffix(".plan.json"),
        stack_sha256=stack_sha256(folder),
        has_changes=has_changes and changes_to_apply(plan),
        counts=counts,
        impact=data_impact(plan),
        changes=tuple(changes),
        destroy=destroy,
        backup=backup_summary(spec, plan, destroy),
    )


def changes_to_apply(plan: dict[str, Any]) -> bool:
    """Return True when a plan that Terraform reports as changed has something to apply.

    Terraform's -detailed-exitcode also counts changed outputs, so a box stopped outside
    envctl would show as a change through its public_ip output alone. A stopped environment
    is a normal state, so such a plan counts as no change.
    """
    if managed_changes(plan.get("resource_changes", [])):
        return True
    outputs = {name for name, change in (plan.get("output_changes") or {}).items()
               if change.get("actions", ["no-op"]) != ["no-op"]}
    return bool(outputs - RUN_STATE_OUTPUTS)


def write_manifest(out_dir: Path, plans: Sequence[EnvironmentPlan]) -> Path:
    path = out_dir / MANIFEST
    path.write_text(json.dumps({plan.environment_id: plan.to_json() for plan in plans},
                               indent=2, sort_keys=True) + "\n")
    return path


def read_manifest(plan_dir: Path) -> dict[str, dict[str, Any]]:
    from envctl.errors import StalePlan

    path = plan_dir / MANIFEST
    if not path.exists():
        raise StalePlan(f"{plan_dir}: no {MANIFEST}; run `envctl plan --out {plan_dir}` first")
    data: dict[str, dict[str, Any]] = json.loads(path.read_text())
    return data
