"""Plan, apply and destroy across environments, several stacks at once."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import DataLossRefused, StalePlan, TerraformFailed
from envctl.planning.guard import allowed_ids, check_volume_size, plan_guarded
from envctl.planning.impact import VOLUME_TYPE, data_loss_message
from envctl.planning.plans import (
    EnvironmentPlan,
    pin_images,
    read_manifest,
    stack_sha256,
    summarize,
    synthesize,
    write_manifest,
)
from envctl.secrets.access import sync_access
from envctl.secrets.preflight import check_secrets, check_vault_for_removal
from envctl.terraform.engine import engine_for
from envctl.terraform.runner import StackRunner, StepCallback, init_stacks, run_parallel
from envctl.workspace import Workspace

log = logging.getLogger(__name__)

DATA_VOLUME_ADDRESS = f"{VOLUME_TYPE}.data_volume"


@dataclass(frozen=True)
class ApplyResult:
    """What one environment looks like after an apply."""

    environment: str
    outputs: dict[str, Any]


def runners_for(workspace: Workspace, specs: Sequence[EnvironmentSpec],
                folders: dict[str, Path], on_step: StepCallback | None) -> list[StackRunner]:
    engine = engine_for(workspace.engine_name)
    return [StackRunner(spec.name, folders[spec.id], engine, env=workspace.env, on_step=on_step)
            for spec in specs]


def plan_environments(workspace: Workspace, specs: Sequence[EnvironmentSpec], out_dir: Path,
                      on_step: StepCallback | None = None,
                      allow_data_loss: Sequence[str] = (),
                      instance_types: Mapping[str, str] | None = None) -> list[EnvironmentPlan]:
    """Save a plan per environment in out_dir and return their summaries, in input order.

    The environments named in allow_data_loss get stacks without prevent_destroy on the data
    volume, so their plans may replace it; the others raise DataLossRefused instead.
    instance_types maps an environment id to one of its listed types to plan instead of the
    one envctl.capacity.choose_instance_types picks.
    """
    from envctl.capacity import choose_instance_types

    check_secrets(workspace, specs)
    specs = choose_instance_types(workspace, pin_images(workspace, specs), instance_types)
    folders = synthesize(workspace, specs, allow_volume_deletion=allowed_ids(specs,
                                                                             allow_data_loss))
    runners = runners_for(workspace, specs, folders, on_step)
    raise_first(init_stacks(runners, workspace.parallelism))
    out_dir.mkdir(parents=True, exist_ok=True)

    def plan_one(index: int) -> EnvironmentPlan:
        spec, runner = specs[index], runners[index]
        check_volume_size(workspace, spec, runner)
        outcome = plan_guarded(runner, spec, out_dir / f"{spec.name}.tfplan")
        save_plan_files(outcome.plan_file, outcome.plan, outcome.text)
        return summarize(spec, folders[spec.id], outcome.plan_file, outcome.plan,
                         outcome.has_changes)

    plans = raise_first(run_parallel(range(len(specs)), plan_one, workspace.parallelism))
    write_manifest(out_dir, plans)
    return plans


def plan_destroy(workspace: Workspace, spec: EnvironmentSpec, out_dir: Path,
                 delete_volume: bool, on_step: StepCallback | None = None) -> EnvironmentPlan:
    """Plan to remove an environment; the data volume stays unless delete_volume is set."""
    allowed = frozenset({spec.id}) if delete_volume else frozenset()
    folders = synthesize(workspace, [spec], allow_volume_deletion=allowed)
    runner = runners_for(workspace, [spec], folders, on_step)[0]
    runner.init()
    targets: list[str] = []
    if not delete_volume:
        targets = [address for address in managed_addresses(runner.show_state())
                   if address != DATA_VOLUME_ADDRESS]
    out_dir.mkdir(parents=True, exist_ok=True)
    plan_file = out_dir / f"{spec.name}.destroy.tfplan"
    if not delete_volume and not targets:
        outcome_plan: dict[str, Any] = {"resource_changes": []}
        plan_file.unlink(missing_ok=True)
        return summarize(spec, folders[spec.id], plan_file, outcome_plan, False, destroy=True)
    outcome = runner.plan(plan_file, destroy=True, targets=targets)
    save_plan_files(outcome.plan_file, outcome.plan, outcome.text)
    plan = summarize(spec, folders[spec.id], outcome.plan_file, outcome.plan,
                     outcome.has_changes, destroy=True)
    write_manifest(out_dir, [plan])
    return plan


def managed_addresses(state: dict[str, Any]) -> list[str]:
    """Addresses of managed resources in a state, with resources in modules as the module."""
    addresses: set[str] = set()
    root = state.get("values", {}).get("root_module", {})
    for resource in root.get("resources", []):
        if resource.get("mode") == "managed":
            addresses.add(resource["address"])
    for module in root.get("child_modules", []):
        addresses.add(module["address"])
    return sorted(addresses)


def retained_volume_id(workspace: Workspace, spec: EnvironmentSpec) -> str | None:
    """The data volume id recorded in the environment's state, if it has one."""
    folders = {spec.id: workspace.project.root / "cdktf.out" / "stacks" / spec.stack_name}
    runner = runners_for(workspace, [spec], folders, None)[0]
    root = runner.show_state().get("values", {}).get("root_module", {})
    for resource in root.get("resources", []):
        if resource["address"] == DATA_VOLUME_ADDRESS:
            return str(resource["values"]["id"])
    return None


def check_data_loss(plans: Sequence[EnvironmentPlan], allow_data_loss: Sequence[str]) -> None:
    """Refuse plans that replace or destroy a data volume unless the user named the environment."""
    for plan in plans:
        if not plan.impact.loses_data or plan.environment in allow_data_loss:
            continue
        raise DataLossRefused(data_loss_message(plan.environment, plan.impact))


def apply_plans(workspace: Workspace, plans: Sequence[EnvironmentPlan],
                allow_data_loss: Sequence[str] = (),
                on_step: StepCallback | None = None,
                retry_capacity: bool = True) -> list[ApplyResult]:
    """Apply exactly the saved plans, several at once; skip those without changes.

    The EC2 vCPU quotas are checked first. With retry_capacity, an environment whose apply
    fails for lack of capacity is applied again with its later listed instance types.
    """
    from envctl.capacity import retry_with_next_types
    from envctl.quotas import check_plan_quotas

    check_data_loss(plans, allow_data_loss)
    pending = [plan for plan in plans if plan.has_changes]
    check_plan_quotas(workspace, pending)
    specs = [workspace.project.environment(plan.environment_id) for plan in pending]
    check_secrets(workspace, [spec for index, spec in enumerate(specs)
                              if not pending[index].destroy])
    check_vault_for_removal(workspace, [spec for index, spec in enumerate(specs)
                                        if pending[index].destroy])
    folders = {spec.id: workspace.project.root / "cdktf.out" / "stacks" / spec.stack_name
               for spec in specs}
    runners = runners_for(workspace, specs, folders, on_step)

    def apply_one(index: int) -> ApplyResult:
        runner, plan = runners[index], pending[index]
        try:
            runner.apply(plan.plan_file)
        except TerraformFailed as error:
            if "Saved plan is stale" in error.stderr:
                raise StalePlan(f"{plan.environment}: the saved plan is stale: the state "
                                f"changed since it was made; run `envctl plan` again") from None
            if "Error acquiring the state lock" in error.stderr:
                raise StalePlan(f"{plan.environment}: another apply holds the state lock; "
                                f"wait for it, then run `envctl plan` again") from None
            raise
        outputs = runner.output() if not plan.destroy else {}
        sync_access(workspace, specs[index], removed=plan.destroy)
        return ApplyResult(plan.environment, {k: v.get("value") for k, v in outputs.items()})

    outcomes = run_parallel(range(len(pending)), apply_one, workspace.parallelism)
    if retry_capacity:
        outcomes = retry_with_next_types(workspace, pending, outcomes, on_step)
    return raise_first(outcomes)


def load_saved_plans(workspace: Workspace, plan_dir: Path,
                     specs: Sequence[EnvironmentSpec]) -> list[EnvironmentPlan]:
    """Read saved plans for specs, refusing any made from a different definition."""
    from envctl.capacity import choose_instance_types

    manifest = read_manifest(plan_dir)
    specs = choose_instance_types(workspace, specs)
    folders = synthesize(workspace, specs)
    plans = []
    for spec in specs:
        entry = manifest.get(spec.id)
        if entry is None:
            raise StalePlan(f"{plan_dir}: no saved plan for {spec.name}; run "
                            f"`envctl plan {spec.name} --out {plan_dir}`")
        if entry["stack_sha256"] != stack_sha256(folders[spec.id]):
            raise StalePlan(f"{spec.name}: the saved plan in {plan_dir} was made from a different "
                            f"definition; run `envctl plan {spec.name} --out {plan_dir}` again")
        plan_file = Path(entry["plan_file"])
        plan_json = json.loads(Path(entry["json_file"]).read_text())
        plans.append(summarize(spec, folders[spec.id], plan_file, plan_json,
                               entry["has_changes"], destroy=entry.get("destroy", False)))
    return plans


def save_plan_files(plan_file: Path, plan: dict[str, Any], text: str) -> None:
    """Keep the plan JSON and text next to the binary plan, for audit.

    The text is redacted like a pull-request comment, because CI uploads it for reviewers: a
    tag value that looks like a token must not travel with it.
    """
    from envctl.review.redact import redact

    plan_file.with_suffix(".plan.json").write_text(json.dumps(plan, indent=2, sort_keys=True))
    plan_file.with_suffix(".plan.txt").write_text(redact(text))


def raise_first(outcomes: Sequence[Any]) -> list[Any]:
    """Raise the first exception among parallel outcomes, after logging every one of them."""
    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    for error in errors[1:]:
        log.error("%s", error)
    if errors:
        raise errors[0]
    return list(outcomes)
