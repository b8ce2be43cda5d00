"""Scale: swap an environment's instance type while its data volume stays.

The new type goes into the environment file first, so the change is reviewable in git; with
apply, envctl then plans and applies it. Before the file changes, a preflight checks that the
type can run this environment (see preflight()). A stopped environment stays stopped after a
swap and a running one runs again. When the apply fails, the file gets its old text back and
the box its old type and run state.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envctl.definitions import catalog
from envctl.definitions.editing import set_field
from envctl.definitions.loader import load_project
from envctl.definitions.spec import EnvironmentSpec
from envctl.definitions.yamlfile import read_yaml
from envctl.errors import CloudError, EnvctlError
from envctl.planning.plans import EnvironmentPlan
from envctl.terraform.runner import StepCallback
from envctl.workspace import Workspace

log = logging.getLogger(__name__)

# An image counts as GPU-capable when its name or description mentions one of these, as the
# AWS Deep Learning AMIs and NVIDIA's own images do. Plain Ubuntu or Amazon Linux images
# have no NVIDIA driver, so a GPU type would boot without a usable GPU.
GPU_IMAGE_WORDS = re.compile(r"deep learning|nvidia|cuda|\bgpu\b", re.IGNORECASE)
# io2 volumes reach more than 32,000 IOPS only on Nitro instance types. Source: the EC2 API
# reference, ModifyVolume, Iops.
NON_NITRO_MAX_IOPS = 32000
# The root disk and the data volume.
ATTACHMENTS_NEEDED = 2
RUNNING_STATES = ("pending", "running")
STOPPED_STATES = ("stopping", "stopped")


class ScaleRejected(EnvctlError):
    """The requested instance type cannot run this environment."""


class ScaleFailed(EnvctlError):
    """The swap failed after it started; the message says what was restored."""


@dataclass(frozen=True)
class ImageFacts:
    """What the preflight needs to know about the environment's machine image."""

    image_id: str
    name: str
    architecture: str
    gpu_capable: bool


@dataclass(frozen=True)
class Preflight:
    """A type that passed every check, and what each check found."""

    instance_type: str
    zone: str
    image: ImageFacts
    checks: tuple[str, ...]


def choose_type(workspace: Workspace, spec: EnvironmentSpec, instance_type: str | None = None,
                cpu: bool = False, gpu: str | None = None) -> str:
    """Return instance_type, or pick one for --cpu or --gpu NAME[:COUNT] (see envctl.offers).

    The pick is the cheapest catalog type of the image's architecture that AWS offers in the
    data volume's zone.
    """
    from envctl.offers import parse_gpu_request, select_cpu_type, select_gpu_type

    if instance_type:
        return instance_type
    ec2 = workspace.client("ec2", spec.region)
    offered = offered_types(ec2, data_volume_zone(workspace, spec))
    architecture = image_facts(workspace, spec).architecture
    if gpu:
        return select_gpu_type(parse_gpu_request(gpu), spec.region, offered,
                               architecture).instance_type
    if cpu:
        return select_cpu_type(spec.region, offered, architecture).instance_type
    raise ScaleRejected(f"{spec.name}: no instance type requested; pass --type, --cpu or --gpu")


def preflight(workspace: Workspace, spec: EnvironmentSpec, instance_type: str) -> Preflight:
    """Check that instance_type can run spec, asking AWS; raise ScaleRejected on the first miss.

    The checks, in order: the type exists (catalog); AWS offers it in the data volume's zone
    (DescribeInstanceTypeOfferings); its CPU architecture matches the image's (DescribeImages);
    a GPU type gets an image with the NVIDIA driver (GPU_IMAGE_WORDS); and it supports the
    volume's attachment (DescribeInstanceTypes: EBS encryption, and Nitro for io2 volumes
    above NON_NITRO_MAX_IOPS).
    """
    known = _known_type(spec, instance_type)
    ec2 = workspace.client("ec2", spec.region)
    zone = data_volume_zone(workspace, spec)
    _check_offered(ec2, spec, instance_type, zone)
    image = image_facts(workspace, spec)
    if image.architecture not in known.architectures:
        raise ScaleRejected(
            f"{spec.name}: {instance_type} runs {'/'.join(known.architectures)} but the image "
            f"{image.image_id} ({image.name}) is {image.architecture}; pick a "
            f"{image.architecture} type, or change the image first")
    if known.has_gpu and not image.gpu_capable:
        raise ScaleRejected(
            f"{spec.name}: {instance_type} has {known.gpu_count} x {known.gpu_name} GPU but the "
            f"image {image.image_id} ({image.name}) has no NVIDIA driver; use a GPU image such "
            "as the AWS Deep Learning AMI (see templates/gpu-pytorch.yaml), or a CPU type")
    _check_attachment(ec2, spec, instance_type)
    gpu = f", {known.gpu_count} x {known.gpu_name}" if known.has_gpu else ""
    checks = (
        f"{instance_type} is offered in {zone}, where the data volume is",
        f"{instance_type} runs {image.architecture}, like image {image.image_id}",
        f"image {image.name!r} {'has' if image.gpu_capable else 'needs no'} GPU driver{gpu}",
        f"{instance_type} can attach the {spec.volume.type} data volume",
    )
    return Preflight(instance_type, zone, image, checks)


def _known_type(spec: EnvironmentSpec, instance_type: str) -> catalog.InstanceType:
    known = catalog.instance_types()
    if instance_type not in known:
        hint = catalog.nearest(instance_type, set(known))
        fix = f"did you mean {hint!r}?" if hint else "see `aws ec2 describe-instance-types`"
        raise ScaleRejected(f"{spec.name}: unknown instance type {instance_type!r}; {fix}")
    return known[instance_type]


def _check_offered(ec2: Any, spec: EnvironmentSpec, instance_type: str, zone: str) -> None:
    if instance_type in offered_types(ec2, zone, [instance_type]):
        return
    elsewhere = offering_zones(ec2, instance_type)
    fix = (f"it is offered in {', '.join(elsewhere)}; move the volume first with `envctl move "
           f"{spec.name} --zone {elsewhere[0]}`, or pick another type") if elsewhere else (
        f"it is not offered anywhere in {spec.region}; pick another type")
    raise ScaleRejected(f"{spec.name}: {instance_type} is not offered in {zone}, where the data "
                        f"volume is; {fix}")


def offered_types(ec2: Any, zone: str, instance_types: list[str] | None = None) -> set[str]:
    """The instance types AWS offers in zone, optionally only among instance_types."""
    filters = [{"Name": "location", "Values": [zone]}]
    if instance_types:
        filters.append({"Name": "instance-type", "Values": instance_types})
    offered: set[str] = set()
    paginator = ec2.get_paginator("describe_instance_type_offerings")
    for page in paginator.paginate(LocationType="availability-zone", Filters=filters):
        offered.update(item["InstanceType"] for item in page["InstanceTypeOfferings"])
    return offered


def offering_zones(ec2: Any, instance_type: str) -> list[str]:
    filters = [{"Name": "instance-type", "Values": [instance_type]}]
    pages = ec2.get_paginator("describe_instance_type_offerings").paginate(
        LocationType="availability-zone", Filters=filters)
    return sorted({item["Location"] for page in pages for item in page["InstanceTypeOfferings"]})


def _check_attachment(ec2: Any, spec: EnvironmentSpec, instance_type: str) -> None:
    described = ec2.describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"][0]
    problem = attachment_problem(described, spec)
    if problem:
        raise ScaleRejected(f"{spec.name}: {instance_type} {problem}")


def attachment_problem(described: dict[str, Any], spec: EnvironmentSpec) -> str | None:
    """Say why a type (as DescribeInstanceTypes returns it) cannot attach spec's volume."""
    ebs = described.get("EbsInfo") or {}
    volume = spec.volume
    if volume.encrypted and ebs.get("EncryptionSupport") != "supported":
        return ("does not support encrypted EBS volumes, and the data volume and root disk are "
                "encrypted; pick a current-generation type")
    iops = volume.iops or 0
    if volume.type == "io2" and iops > NON_NITRO_MAX_IOPS and described.get("Hypervisor") != (
            "nitro"):
        return (f"is not built on the Nitro System, so it cannot drive the io2 volume's {iops} "
                f"IOPS (at most {NON_NITRO_MAX_IOPS}); pick a Nitro type such as m6i.large")
    if int(ebs.get("MaximumEbsAttachments", ATTACHMENTS_NEEDED)) < ATTACHMENTS_NEEDED:
        return "cannot attach both the root disk and the data volume; pick another type"
    return None


def data_volume_zone(workspace: Workspace, spec: EnvironmentSpec) -> str:
    """The zone of the environment's data volume in AWS, or the file's zone before it exists."""
    volume = find_data_volume(workspace, spec)
    return str(volume["AvailabilityZone"]) if volume else spec.availability_zone


def find_data_volume(workspace: Workspace, spec: EnvironmentSpec) -> dict[str, Any] | None:
    """The environment's data volume as DescribeVolumes returns it, found by its tags."""
    from envctl.resources import volume_tags

    role = volume_tags(spec)["envctl:role"]
    filters = [{"Name": "tag:envctl:environment-id", "Values": [spec.id]},
               {"Name": "tag:envctl:role", "Values": [role]}]
    volumes = workspace.client("ec2", spec.region).describe_volumes(Filters=filters)["Volumes"]
    return dict(volumes[0]) if volumes else None


def image_facts(workspace: Workspace, spec: EnvironmentSpec) -> ImageFacts:
    """Describe the environment's image: the pinned one, or what the file resolves to today."""
    from envctl.images import resolve_ami

    ec2 = workspace.client("ec2", spec.region)
    ami = spec.image.resolved_ami or resolve_ami(spec, ec2, workspace.client("ssm", spec.region))
    images = ec2.describe_images(ImageIds=[ami])["Images"]
    if not images:
        raise CloudError(f"{spec.name}: image {ami} is not found in {spec.region}; check "
                         f"image.pinned in {spec.source}")
    image = images[0]
    text = f"{image.get('Name', '')} {image.get('Description', '')}"
    return ImageFacts(ami, str(image.get("Name", ami)), str(image["Architecture"]),
                      bool(GPU_IMAGE_WORDS.search(text)))


def image_architecture(workspace: Workspace, spec: EnvironmentSpec) -> str | None:
    """The CPU architecture of the environment's pinned image, or None when not pinned yet."""
    if not spec.image.resolved_ami:
        return None
    return image_facts(workspace, spec).architecture


def check_instance_type(spec: EnvironmentSpec, instance_type: str,
                        image_architecture: str | None = None) -> None:
    """Raise ScaleRejected for a type that is unknown, not offered in the spec's zone by the
    catalog, or of another architecture than image_architecture. No AWS calls."""
    known = _known_type(spec, instance_type)
    offered = catalog.zone_offerings(spec.region).get(spec.availability_zone, frozenset())
    if instance_type not in offered:
        raise ScaleRejected(
            f"{spec.name}: {instance_type} is not offered in {spec.availability_zone}, where "
            "the data volume lives; pick another type")
    if image_architecture and image_architecture not in known.architectures:
        raise ScaleRejected(
            f"{spec.name}: {instance_type} runs {'/'.join(known.architectures)} but the image is "
            f"{image_architecture}; pick a {image_architecture} type or change image")


def write_instance_type(spec: EnvironmentSpec, instance_type: str) -> None:
    """Record the new type in the environment file, keeping its comments.

    A file with instance.types gets the type moved to the front of that list, because the
    first preference is the type envctl plans; otherwise instance.type is set.
    """
    own = read_yaml(spec.source).get("instance") or {}
    preferences = own.get("types") if isinstance(own, dict) else None
    if preferences:
        reordered = [instance_type, *(name for name in preferences if name != instance_type)]
        set_field(spec.source, ("instance", "types"), reordered)
        return
    set_field(spec.source, ("instance", "type"), instance_type)


@dataclass(frozen=True)
class ScalePlan:
    """A swap planned but not applied: the edited file's old text, and the run state before."""

    environment: str
    environment_id: str
    instance_type: str
    previous_type: str
    source: Path
    original_text: str
    state_before: str
    volume_before: str | None
    plan: EnvironmentPlan


@dataclass(frozen=True)
class ScaleResult:
    """A finished swap: its plan, the data volume id before and after, and the run state."""

    plan: EnvironmentPlan
    volume_before: str | None
    volume_after: str | None
    state_after: str
    instance_type: str
    previous_type: str


def plan_scale(workspace: Workspace, name: str, instance_type: str,
               on_step: StepCallback | None = None, checked: bool = False) -> ScalePlan:
    """Write instance_type into the environment file and plan it; nothing in AWS changes.

    Raises ScaleRejected from the preflight before the file changes; checked=True skips the
    preflight when the caller already ran it. When planning fails, the file gets its old text
    back before the error propagates.
    """
    from envctl.inventory import describe_environments

    spec = workspace.project.environment(name)
    if not checked:
        preflight(workspace, spec, instance_type)
    status = describe_environments(workspace, [spec])[0]
    volume = find_data_volume(workspace, spec)
    original_text = spec.source.read_text(encoding="utf-8")
    write_instance_type(spec, instance_type)
    try:
        plan = _plan(workspace, spec.id, instance_type, on_step)
    except BaseException:
        _restore_file(workspace, spec.source, original_text)
        raise
    return ScalePlan(spec.name, spec.id, instance_type, status.instance_type or spec.instance_type,
                     spec.source, original_text, status.state,
                     volume["VolumeId"] if volume else None, plan)


def apply_scale(workspace: Workspace, planned: ScalePlan,
                on_step: StepCallback | None = None) -> ScaleResult:
    """Apply a planned swap and bring the box back to its run state before the swap.

    On failure the file gets its old text back, the old type is applied again and the old run
    state restored; ScaleFailed then says what failed and what was restored.
    """
    from envctl.planning.run import apply_plans

    try:
        # No capacity fallback: the swap is to exactly this type, or it is undone.
        apply_plans(workspace, [planned.plan], on_step=on_step, retry_capacity=False)
        state_after = restore_run_state(workspace, planned.environment_id, planned.state_before)
    except EnvctlError as error:
        raise _restore_after_failure(workspace, planned, error, on_step) from error
    spec = workspace.project.environment(planned.environment_id)
    volume = find_data_volume(workspace, spec)
    return ScaleResult(planned.plan, planned.volume_before,
                       volume["VolumeId"] if volume else None, state_after,
                       planned.instance_type, planned.previous_type)


def cancel_scale(workspace: Workspace, planned: ScalePlan) -> None:
    """Drop a planned swap that was not applied: the file gets its old text back."""
    _restore_file(workspace, planned.source, planned.original_text)


def scale(workspace: Workspace, name: str, instance_type: str,
          on_step: StepCallback | None = None) -> ScaleResult:
    """Preflight, edit, plan and apply a swap in one call; see plan_scale and apply_scale."""
    return apply_scale(workspace, plan_scale(workspace, name, instance_type, on_step), on_step)


def _plan(workspace: Workspace, environment_id: str, instance_type: str,
          on_step: StepCallback | None) -> EnvironmentPlan:
    """Plan the environment as its file is now, on instance_type.

    instance_type is named explicitly because planning otherwise keeps a box on the listed
    type it already runs on (see envctl.capacity.choose_instance_types).
    """
    from envctl.planning.run import plan_environments

    workspace.project = load_project(workspace.project.root)
    spec = workspace.project.environment(environment_id)
    return plan_environments(workspace, [spec], workspace.plans_dir, on_step,
                             instance_types={spec.id: instance_type})[0]


def _restore_file(workspace: Workspace, source: Path, original_text: str) -> None:
    source.write_text(original_text, encoding="utf-8")
    workspace.project = load_project(workspace.project.root)


def _restore_after_failure(workspace: Workspace, planned: ScalePlan, error: EnvctlError,
                           on_step: StepCallback | None) -> ScaleFailed:
    """Put back the old file, type and run state; return the error that says so."""
    from envctl.planning.run import apply_plans

    log.warning("%s: swap to %s failed; restoring %s", planned.environment,
                planned.instance_type, planned.previous_type)
    _restore_file(workspace, planned.source, planned.original_text)
    failed = f"{planned.environment}: scaling to {planned.instance_type} failed ({error})"
    try:
        restore = _plan(workspace, planned.environment_id, planned.previous_type, on_step)
        apply_plans(workspace, [restore], on_step=on_step)
        state = restore_run_state(workspace, planned.environment_id, planned.state_before)
    except EnvctlError as restore_error:
        return ScaleFailed(
            f"{failed}, and restoring {planned.previous_type} failed too ({restore_error}); "
            f"{planned.source.name} is back to {planned.previous_type}: run `envctl apply "
            f"{planned.environment}` to retry")
    return ScaleFailed(f"{failed}; restored {planned.previous_type}, {state}, and "
                       f"{planned.source.name} is unchanged")


def restore_run_state(workspace: Workspace, environment_id: str, state_before: str) -> str:
    """Stop or start the box so it is as it was before the swap; return its state now.

    Provider 3.39.0 starts the instance after changing its type even when it was stopped,
    and leaves it stopped when the change fails halfway.
    """
    from envctl.inventory import describe_environments
    from envctl.lifecycle import start, stop

    spec = workspace.project.environment(environment_id)
    state = describe_environments(workspace, [spec])[0].state
    if state_before in STOPPED_STATES and state in RUNNING_STATES:
        stop(workspace, spec.name)
        return "stopped"
    if state_before in RUNNING_STATES and state in STOPPED_STATES:
        start(workspace, spec.name)
        return "running"
    return state
