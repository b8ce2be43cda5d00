"""Quota preflight: check the account's EC2 vCPU quota before an instance starts running.

EC2 limits on-demand instances by vCPUs per region, with one quota per group of families
(Service Quotas, service code ec2). A launch over the quota fails in the middle of an apply,
after Terraform may have created the volume and the security group, so apply and start check
first and name the quota to raise.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from envctl.definitions import catalog
from envctl.errors import EnvctlError
from envctl.planning.impact import INSTANCE_TYPE, action_of

if TYPE_CHECKING:
    from envctl.planning.plans import EnvironmentPlan
    from envctl.workspace import Workspace

log = logging.getLogger(__name__)

ENVIRONMENT_TAG = "envctl:environment-id"


@dataclass(frozen=True)
class VcpuQuota:
    """One EC2 on-demand vCPU quota, as Service Quotas names it."""

    code: str
    name: str


STANDARD_INSTANCES = VcpuQuota(
    "L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances")
G_AND_VT_INSTANCES = VcpuQuota("L-DB2E81BA", "Running On-Demand G and VT instances")
P_INSTANCES = VcpuQuota("L-417A185B", "Running On-Demand P instances")
F_INSTANCES = VcpuQuota("L-74FC7D96", "Running On-Demand F instances")
X_INSTANCES = VcpuQuota("L-7295265B", "Running On-Demand X instances")
HIGH_MEMORY_INSTANCES = VcpuQuota("L-43DA4232", "Running On-Demand High Memory instances")
INF_INSTANCES = VcpuQuota("L-1945791B", "Running On-Demand Inf instances")
TRN_INSTANCES = VcpuQuota("L-2C3B7624", "Running On-Demand Trn instances")
DL_INSTANCES = VcpuQuota("L-6E869C2A", "Running On-Demand DL instances")
HPC_INSTANCES = VcpuQuota("L-F7808C92", "Running On-Demand HPC instances")

VCPU_QUOTAS = (STANDARD_INSTANCES, G_AND_VT_INSTANCES, P_INSTANCES, F_INSTANCES, X_INSTANCES,
               HIGH_MEMORY_INSTANCES, INF_INSTANCES, TRN_INSTANCES, DL_INSTANCES, HPC_INSTANCES)

# The letters before the generation digit name the family: g5 -> g, inf2 -> inf, u7i -> u.
# A family missing here (im4gn, is4gen, r7iz) falls back to its first letter.
FAMILY_QUOTAS: dict[str, VcpuQuota] = {
    **{letter: STANDARD_INSTANCES for letter in "acdhimrtz"},
    "g": G_AND_VT_INSTANCES,
    "vt": G_AND_VT_INSTANCES,
    "p": P_INSTANCES,
    "f": F_INSTANCES,
    "x": X_INSTANCES,
    "u": HIGH_MEMORY_INSTANCES,
    "inf": INF_INSTANCES,
    "trn": TRN_INSTANCES,
    "dl": DL_INSTANCES,
    "hpc": HPC_INSTANCES,
}
FAMILY = re.compile(r"^([a-z]+)")


class QuotaExceeded(EnvctlError):
    """Starting an instance would go over the account's EC2 vCPU quota."""


@dataclass(frozen=True)
class Launch:
    """An instance that an apply or a start is about to run."""

    environment: str
    environment_id: str
    region: str
    instance_type: str


def quota_for(instance_type: str) -> VcpuQuota | None:
    """Return the on-demand vCPU quota that instance_type counts against, or None (mac)."""
    match = FAMILY.match(instance_type)
    if match is None:
        return None
    family = match.group(1)
    return FAMILY_QUOTAS.get(family) or (
        FAMILY_QUOTAS.get(family[0]) if family != "mac" else None)


def vcpus_of(instance_type: str) -> int:
    """Default vCPUs of a type from the instance catalog; 0 when the catalog lacks it."""
    known = catalog.instance_types().get(instance_type)
    return known.vcpus if known else 0


def check_quotas(workspace: Workspace, launches: Sequence[Launch]) -> None:
    """Raise QuotaExceeded when the launches, added to what runs now, exceed a vCPU quota.

    Instances of the launching environments are left out of what runs now, because a
    launch replaces or resizes them.
    """
    groups: dict[tuple[str, VcpuQuota], list[Launch]] = {}
    for launch in launches:
        quota = quota_for(launch.instance_type)
        if quota is None:
            log.warning("%s: no EC2 vCPU quota known for %s; skipping the quota check",
                        launch.environment, launch.instance_type)
            continue
        groups.setdefault((launch.region, quota), []).append(launch)
    replaced = {launch.environment_id for launch in launches}
    for region in sorted({region for region, _ in groups}):
        running = running_vcpus(workspace.client("ec2", region), replaced)
        quotas = workspace.client("service-quotas", region)
        for (group_region, quota), members in groups.items():
            if group_region == region:
                _check_one(quotas, region, quota, running.get(quota.code, 0), members)


def _check_one(quotas: Any, region: str, quota: VcpuQuota, running: int,
               launches: list[Launch]) -> None:
    limit = quota_value(quotas, region, quota)
    if limit is None:
        return
    adding = sum(vcpus_of(launch.instance_type) for launch in launches)
    needed = running + adding
    if needed <= limit:
        log.debug("%s in %s: %d of %g vCPUs in use after the launch", quota.code, region,
                  needed, limit)
        return
    launching = ", ".join(f"{launch.environment} ({launch.instance_type})"
                          for launch in launches)
    verb = "needs" if len(launches) == 1 else "need"
    raise QuotaExceeded(
        f"{launching} {verb} {adding} vCPUs of the EC2 quota \"{quota.name}\" ({quota.code}) in "
        f"{region}, which is {limit:g} with {running} already running; request {needed} or "
        f"more: aws service-quotas request-service-quota-increase --service-code ec2 "
        f"--quota-code {quota.code} --region {region} --desired-value {needed}")


def quota_value(quotas: Any, region: str, quota: VcpuQuota) -> float | None:
    """Return the account's value of a quota, else AWS's default, else None when unknown.

    An unknown quota (no permission, or a region without Service Quotas) is logged and
    skipped rather than blocking the launch: EC2 still enforces the quota itself.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return float(quotas.get_service_quota(ServiceCode="ec2", QuotaCode=quota.code)
                     ["Quota"]["Value"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchResourceException":
            _skip(region, quota, error)
            return None
    except BotoCoreError as error:
        _skip(region, quota, error)
        return None
    try:
        return float(quotas.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode=quota.code)
                     ["Quota"]["Value"])
    except (ClientError, BotoCoreError) as error:
        _skip(region, quota, error)
        return None


def _skip(region: str, quota: VcpuQuota, error: Exception) -> None:
    log.warning("could not read the EC2 quota %s (%s) in %s: %s; skipping the quota check",
                quota.name, quota.code, region, error)


def running_vcpus(ec2: Any, excluded_environments: set[str]) -> dict[str, int]:
    """vCPUs of pending and running on-demand instances per quota code.

    Spot instances count against separate quotas, and instances of excluded_environments
    are about to be replaced, so neither is counted.
    """
    totals: dict[str, int] = {}
    filters = [{"Name": "instance-state-name", "Values": ["pending", "running"]}]
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                tags = {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}
                if instance.get("InstanceLifecycle") == "spot":
                    continue
                if tags.get(ENVIRONMENT_TAG) in excluded_environments:
                    continue
                quota = quota_for(instance["InstanceType"])
                if quota is not None:
                    totals[quota.code] = (totals.get(quota.code, 0)
                                          + vcpus_of(instance["InstanceType"]))
    return totals


def plan_launches(workspace: Workspace, plans: Sequence[EnvironmentPlan]) -> list[Launch]:
    """List the instances that applying plans would start: creations, replacements, resizes.

    An in-place update that keeps the type leaves the instance's vCPUs as they are.
    """
    launches = []
    for plan in plans:
        instance_type = launched_type(plan)
        if instance_type is None:
            continue
        spec = workspace.project.environment(plan.environment_id)
        launches.append(Launch(spec.name, spec.id, spec.region, instance_type))
    return launches


def launched_type(plan: EnvironmentPlan) -> str | None:
    """Return the instance type a plan starts an instance of, or None when it starts none."""
    if plan.destroy:
        return None
    plan_json = json.loads(plan.json_file.read_text())
    for change in plan_json.get("resource_changes", []):
        if change.get("type") != INSTANCE_TYPE or change.get("mode") == "data":
            continue
        action = action_of(change)
        after = change.get("change", {}).get("after") or {}
        before = change.get("change", {}).get("before") or {}
        if action in ("create", "replace"):
            return str(after.get("instance_type"))
        if action == "update" and before.get("instance_type") != after.get("instance_type"):
            return str(after.get("instance_type"))
    return None


def check_plan_quotas(workspace: Workspace, plans: Sequence[EnvironmentPlan]) -> None:
    """Check the vCPU quotas for every instance that applying plans would start."""
    launches = plan_launches(workspace, plans)
    if launches:
        check_quotas(workspace, launches)
