"""Capacity fallback: when AWS has no capacity for an instance type, try the next one listed.

An environment may list instance types in order of preference (instance.types). Planning
uses the first, or the type the instance already runs on when the list contains it, so a box
that fell back stays where it is. When an apply fails with InsufficientInstanceCapacity, the
environment is planned and applied again with each later type in turn. The availability zone
never changes, so the data volume stays where it is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import TerraformFailed
from envctl.lifecycle import CapacityError, StartResult
from envctl.planning.plans import EnvironmentPlan
from envctl.quotas import Launch, QuotaExceeded, check_quotas, launched_type
from envctl.terraform.runner import StepCallback
from envctl.workspace import Workspace

log = logging.getLogger(__name__)

CAPACITY_ERROR = "InsufficientInstanceCapacity"
# Plans made for a fallback type go here, so they never replace a plan folder the user keeps.
FALLBACK_PLANS = "capacity-fallback"


def is_capacity_error(error: BaseException) -> bool:
    """True when Terraform failed because AWS had no capacity for the instance type."""
    return isinstance(error, TerraformFailed) and CAPACITY_ERROR in error.stderr


def choose_instance_types(workspace: Workspace, specs: Sequence[EnvironmentSpec],
                          overrides: Mapping[str, str] | None = None) -> list[EnvironmentSpec]:
    """Set each spec's instance_type to the type to plan.

    That is overrides[spec.id] when given, else the type the instance runs on when the
    environment lists it (so a box that fell back is not switched back, which would stop it),
    else the first listed type. Only environments that list several types cost a
    DescribeInstances call.
    """
    overrides = overrides or {}
    listing = [spec for spec in specs
               if spec.id not in overrides and len(spec.instance_types) > 1]
    running: dict[str, str | None] = {}
    if listing:
        from envctl.inventory import describe_environments

        running = {status.environment_id: status.instance_type
                   for status in describe_environments(workspace, listing)}
    chosen = []
    for spec in specs:
        chosen_type = overrides.get(spec.id) or running.get(spec.id)
        if (chosen_type and chosen_type != spec.instance_type
                and chosen_type in spec.instance_types):
            log.info("%s: planning %s instead of %s", spec.name, chosen_type, spec.instance_type)
            spec = spec.model_copy(update={"instance_type": chosen_type})
        chosen.append(spec)
    return chosen


def retry_with_next_types(workspace: Workspace, plans: Sequence[EnvironmentPlan],
                          outcomes: Sequence[Any],
                          on_step: StepCallback | None = None) -> list[Any]:
    """Replace each capacity failure among outcomes by the result of the later listed types.

    outcomes holds, per plan, its ApplyResult or the exception its apply raised. A failure
    that no listed type overcomes becomes a CapacityError naming every type tried.
    """
    results = list(outcomes)
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, Exception) and is_capacity_error(outcome):
            results[index] = _fall_back(workspace, plans[index], on_step)
    return results


def _fall_back(workspace: Workspace, plan: EnvironmentPlan, on_step: StepCallback | None) -> Any:
    spec = workspace.project.environment(plan.environment_id)
    failed = launched_type(plan) or spec.instance_type
    tried = [(failed, "no capacity")]
    log.warning("%s: AWS has no capacity for %s in %s", spec.name, failed, spec.availability_zone)
    for candidate in [name for name in spec.instance_types if name != failed]:
        log.warning("%s: trying %s in %s", spec.name, candidate, spec.availability_zone)
        try:
            result = _apply_with_type(workspace, spec, candidate, on_step)
        except QuotaExceeded as error:
            log.warning("%s: skipping %s: %s", spec.name, candidate, error)
            tried.append((candidate, "over the EC2 vCPU quota"))
            continue
        except TerraformFailed as error:
            if not is_capacity_error(error):
                return error
            log.warning("%s: AWS has no capacity for %s in %s", spec.name, candidate,
                        spec.availability_zone)
            tried.append((candidate, "no capacity"))
            continue
        log.warning("%s: applied on %s after %s had no capacity", spec.name, candidate,
                    ", ".join(name for name, _ in tried))
        return result
    return CapacityError(no_capacity_message(spec, tried))


def _apply_with_type(workspace: Workspace, spec: EnvironmentSpec, instance_type: str,
                     on_step: StepCallback | None) -> Any:
    from envctl.planning.run import ApplyResult, apply_plans, plan_environments

    plans = plan_environments(workspace, [spec], workspace.plans_dir / FALLBACK_PLANS, on_step,
                              instance_types={spec.id: instance_type})
    results = apply_plans(workspace, plans, on_step=on_step, retry_capacity=False)
    return results[0] if results else ApplyResult(spec.name, {})


def no_capacity_message(spec: EnvironmentSpec, tried: Sequence[tuple[str, str]]) -> str:
    """Name every type tried and why it failed, and what to do next."""
    attempts = "; ".join(f"{name}: {reason}" for name, reason in tried)
    if len(spec.instance_types) > 1:
        fix = "try again later, or add another type to instance.types"
    else:
        fix = ("try again later, or list fallback types in instance.types "
               "(`envctl offers` shows types with the same GPU)")
    return (f"{spec.name}: no instance type could start in {spec.availability_zone}, where the "
            f"data volume stays (tried {attempts}); {fix}")


def start_with_fallback(workspace: Workspace, name: str,
                        instance_type: str | None = None) -> StartResult:
    """Start a stopped environment after checking the vCPU quota of the type it starts on.

    That type is instance_type when given, else the stopped instance's own type.
    envctl.lifecycle.start does the starting: on no capacity it tries the environment's other
    listed types in the volume's zone, skipping those that would go over their quota.
    """
    from envctl.inventory import describe_environments
    from envctl.lifecycle import start

    spec = workspace.project.environment(name)
    status = describe_environments(workspace, [spec])[0]
    # Any other type, requested or a fallback, gets its quota checked before the type change.
    own_type = None if instance_type else status.instance_type
    if status.state in ("stopped", "stopping") and own_type:
        check_quotas(workspace, [Launch(spec.name, spec.id, spec.region, own_type)])
    return start(workspace, name, instance_type)
