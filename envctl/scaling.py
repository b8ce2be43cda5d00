"""Scale: change an environment's instance type in its file, checked before anything moves."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from envctl.definitions import catalog
from envctl.definitions.editing import set_field
from envctl.definitions.loader import load_project
from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import EnvctlError
from envctl.planning.plans import EnvironmentPlan
from envctl.planning.run import apply_plans, plan_environments, retained_volume_id
from envctl.terraform.runner import StepCallback
from envctl.workspace import Workspace

log = logging.getLogger(__name__)


class ScaleRejected(EnvctlError):
    """The requested instance type cannot run this environment."""


def check_instance_type(spec: EnvironmentSpec, instance_type: str,
                        image_architecture: str | None = None) -> None:
    """Refuse a type that does not exist, is not offered in the volume's zone, or cannot boot
    the environment's image."""
    known = catalog.instance_types()
    if instance_type not in known:
        hint = catalog.nearest(instance_type, set(known))
        fix = f"did you mean {hint!r}?" if hint else "see `envctl offers`"
        raise ScaleRejected(f"{spec.name}: unknown instance type {instance_type!r}; {fix}")
    offered = catalog.zone_offerings(spec.region).get(spec.availability_zone, frozenset())
    if instance_type not in offered:
        raise ScaleRejected(
            f"{spec.name}: {instance_type} is not offered in {spec.availability_zone}, where "
            "the data volume lives; pick another type")
    architectures = known[instance_type].architectures
    if image_architecture and image_architecture not in architectures:
        raise ScaleRejected(
            f"{spec.name}: {instance_type} runs {'/'.join(architectures)} but the image is "
            f"{image_architecture}; pick a {image_architecture} type or change image")


def write_instance_type(spec: EnvironmentSpec, instance_type: str) -> None:
    """Record the new type in the environment file, so the change is reviewable in git."""
    set_field(spec.source, ("instance", "type"), instance_type)


@dataclass(frozen=True)
class ScaleResult:
    """A finished swap: its plan, and the data volume id before and after."""

    plan: EnvironmentPlan
    volume_before: str | None
    volume_after: str | None
    state_after: str


def scale(workspace: Workspace, name: str, instance_type: str,
          on_step: StepCallback | None = None) -> ScaleResult:
    """Swap an environment's instance type, keeping its volume and its run state.

    The file is edited first so the change is reviewable; if planning or applying fails, the
    file gets its old type back and the box its old type and run state.
    """
    from envctl.inventory import describe_environments

    spec = workspace.project.environment(name)
    check_instance_type(spec, instance_type, image_architecture(workspace, spec))
    state_before = describe_environments(workspace, [spec])[0].state
    volume_before = retained_volume_id(workspace, spec)
    old_type = spec.instance_type
    write_instance_type(spec, instance_type)
    try:
        plan = _plan_and_apply(workspace, spec.id, on_step)
    except EnvctlError:
        log.warning("%s: swap to %s failed; restoring %s", name, instance_type, old_type)
        write_instance_type(spec, old_type)
        _plan_and_apply(workspace, spec.id, on_step)
        _restore_run_state(workspace, spec, state_before)
        raise
    _restore_run_state(workspace, spec, state_before)
    return ScaleResult(plan, volume_before, retained_volume_id(workspace, spec),
                       describe_environments(workspace, [spec])[0].state)


def _plan_and_apply(workspace: Workspace, environment_id: str,
                    on_step: StepCallback | None) -> EnvironmentPlan:
    workspace.project = load_project(workspace.project.root)
    spec = workspace.project.environment(environment_id)
    plans = plan_environments(workspace, [spec], workspace.plans_dir, on_step)
    apply_plans(workspace, plans, on_step=on_step)
    return plans[0]


def _restore_run_state(workspace: Workspace, spec: EnvironmentSpec, state_before: str) -> None:
    """Stop the box again if it was stopped: provider 3.x starts it after a type change."""
    if state_before in ("stopped", "stopping"):
        from envctl.lifecycle import stop

        stop(workspace, spec.name)


def image_architecture(workspace: Workspace, spec: EnvironmentSpec) -> str | None:
    """The CPU architecture of the environment's pinned image, or None when not pinned yet."""
    ami = spec.image.resolved_ami
    if not ami:
        return None
    images = workspace.client("ec2", spec.region).describe_images(ImageIds=[ami])["Images"]
    return str(images[0]["Architecture"]) if images else None
