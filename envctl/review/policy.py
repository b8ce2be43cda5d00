"""Policies: rules every environment must follow, checked by `envctl check` and `envctl plan`.

Each check is a pure function of the resolved spec, the environment's resources and the
project settings. The resources come from the synthesized stack (cdk.tf.json) when there is
one, so a check reads exactly what Terraform gets. Otherwise they come from envctl.resources,
the functions the stack is built from, so checking needs no synthesis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from envctl.definitions import catalog
from envctl.definitions.project import ProjectSettings
from envctl.definitions.spec import EnvironmentSpec
from envctl.prices import price_rows
from envctl.resources import (
    instance_settings,
    security_group_rules,
    security_group_settings,
    volume_settings,
)
from envctl.review.cost import estimate_cost

# Resources by Terraform type, then by name, as in the "resource" block of cdk.tf.json.
Resources = dict[str, dict[str, dict[str, Any]]]
Check = Callable[[EnvironmentSpec, Resources, ProjectSettings], list[str]]

WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
SSH_PORT = 22
TAGGED_TYPES = ("aws_instance", "aws_ebs_volume", "aws_security_group")
# Stands in for the AMI when resources come from a spec whose image is not pinned yet;
# no policy reads the AMI.
UNPINNED_AMI = "ami-00000000"


@dataclass(frozen=True)
class PolicyResult:
    """The outcome of one policy for one environment."""

    policy: str
    environment: str
    passed: bool
    message: str
    waiver: str | None = None

    @property
    def failed(self) -> bool:
        """True when the policy broke and no exception in envctl.yaml waives it."""
        return not self.passed and self.waiver is None

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "passed": self.passed, "waiver": self.waiver,
                "message": self.message}


def resources_from_spec(spec: EnvironmentSpec) -> Resources:
    """Build the resources the stack would contain, with the functions the stack uses."""
    rules: dict[str, dict[str, Any]] = {}
    for rule in security_group_rules(spec):
        arguments = dict(rule)
        rules[f"rule_{arguments.pop('name')}"] = arguments
    return {
        "aws_instance": {"instance": instance_settings(spec, spec.image.resolved_ami
                                                        or UNPINNED_AMI)},
        "aws_ebs_volume": {"data_volume": volume_settings(spec)},
        "aws_security_group": {"security_group": security_group_settings(spec)},
        "aws_security_group_rule": rules,
    }


def resources_from_stack(stack: dict[str, Any]) -> Resources:
    """Return the resources of a synthesized stack (the parsed cdk.tf.json)."""
    resources: Resources = stack.get("resource", {})
    return resources


def _block(value: Any) -> dict[str, Any]:
    """Return a nested block, which Terraform JSON writes as an object or a list of one."""
    if isinstance(value, list):
        return value[0] if value else {}
    return value or {}


def _blocks(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    return list(value or [])


def _opens_ssh_to_world(rule: dict[str, Any]) -> list[str]:
    if rule.get("protocol") in ("-1", "all"):
        covers_ssh = True
    else:
        covers_ssh = str(rule.get("protocol")) in ("tcp", "6") and (
            int(rule.get("from_port", -1)) <= SSH_PORT <= int(rule.get("to_port", -1)))
    cidrs = set(rule.get("cidr_blocks") or []) | set(rule.get("ipv6_cidr_blocks") or [])
    return sorted(WORLD_CIDRS & cidrs) if covers_ssh else []


def check_ssh_not_world(spec: EnvironmentSpec, resources: Resources,
                        settings: ProjectSettings) -> list[str]:
    problems = []
    for name, rule in resources.get("aws_security_group_rule", {}).items():
        if rule.get("type") == "ingress" and (world := _opens_ssh_to_world(rule)):
            problems.append(f"aws_security_group_rule.{name} allows SSH from {', '.join(world)}")
    for name, group in resources.get("aws_security_group", {}).items():
        for rule in _blocks(group.get("ingress")):
            if world := _opens_ssh_to_world(rule):
                problems.append(f"aws_security_group.{name} allows SSH from {', '.join(world)}")
    if problems:
        problems.append("list office or VPN ranges in network.ssh_cidrs instead")
    return problems


def check_imdsv2(spec: EnvironmentSpec, resources: Resources,
                 settings: ProjectSettings) -> list[str]:
    problems = []
    for name, instance in resources.get("aws_instance", {}).items():
        options = _block(instance.get("metadata_options"))
        if options.get("http_endpoint") == "disabled":
            continue
        tokens = options.get("http_tokens")
        if tokens != "required":
            problems.append(f"aws_instance.{name} accepts IMDSv1 (metadata_options.http_tokens "
                            f"is {tokens or 'unset'}); set http_tokens to required")
    return problems


def check_volumes_encrypted(spec: EnvironmentSpec, resources: Resources,
                            settings: ProjectSettings) -> list[str]:
    problems = []
    for name, volume in resources.get("aws_ebs_volume", {}).items():
        if volume.get("encrypted") is not True:
            problems.append(f"aws_ebs_volume.{name} is not encrypted; set volume.encrypted: true")
    for name, instance in resources.get("aws_instance", {}).items():
        disks = [_block(instance.get("root_block_device")),
                 *_blocks(instance.get("ebs_block_device"))]
        if any(disk.get("encrypted") is not True for disk in disks):
            problems.append(f"aws_instance.{name} has an unencrypted disk; encrypt every "
                            "root_block_device and ebs_block_device")
    return problems


def check_required_tags(spec: EnvironmentSpec, resources: Resources,
                        settings: ProjectSettings) -> list[str]:
    missing: dict[str, list[str]] = {}
    for kind in TAGGED_TYPES:
        for name, resource in resources.get(kind, {}).items():
            tags = resource.get("tags") or {}
            for tag in settings.policy.required_tags:
                if not str(tags.get(tag, "")).strip():
                    missing.setdefault(tag, []).append(f"{kind}.{name}")
    # Only tag names go into the message: a careless tag value may hold a secret.
    return [f"tag {tag} is missing or empty on {', '.join(addresses)}; set tags.{tag} in the "
            f"environment or its template" for tag, addresses in sorted(missing.items())]


def is_accelerated(instance_type: str) -> bool:
    """True for types with a GPU or another accelerator (Inferentia, Trainium)."""
    hardware = catalog.instance_types().get(instance_type)
    if hardware is not None and hardware.has_gpu:
        return True
    return any(row.accelerator for row in price_rows() if row.instance_type == instance_type)


def check_gpu_autostop(spec: EnvironmentSpec, resources: Resources,
                       settings: ProjectSettings) -> list[str]:
    types = {str(instance.get("instance_type")) for instance in
             resources.get("aws_instance", {}).values()} or {spec.instance_type}
    accelerated = sorted(name for name in types if is_accelerated(name))
    if accelerated and spec.autostop_minutes is None:
        return [f"{', '.join(accelerated)} has an accelerator and autostop is off; set "
                "autostop.idle_minutes, such as 60"]
    return []


def check_allowed_instance_types(spec: EnvironmentSpec, resources: Resources,
                                 settings: ProjectSettings) -> list[str]:
    patterns = settings.policy.allowed_instance_types
    types = {str(instance.get("instance_type")) for instance in
             resources.get("aws_instance", {}).values()} or {spec.instance_type}
    return [f"{name} is not in policy.allowed_instance_types ({', '.join(patterns)}); use an "
            "allowed type or extend the list in envctl.yaml"
            for name in sorted(types)
            if patterns and not any(fnmatchcase(name, pattern) for pattern in patterns)]


def check_allowed_regions(spec: EnvironmentSpec, resources: Resources,
                          settings: ProjectSettings) -> list[str]:
    allowed = settings.policy.allowed_regions
    if not allowed or spec.region in allowed:
        return []
    return [f"{spec.region} is not in policy.allowed_regions ({', '.join(allowed)}); set region "
            "to an allowed one"]


def check_max_hourly_cost(spec: EnvironmentSpec, resources: Resources,
                          settings: ProjectSettings) -> list[str]:
    limit = settings.policy.max_hourly_usd
    if limit is None:
        return []
    hourly = estimate_cost(spec, settings.costs).running_hourly_usd
    if hourly is None:
        return [f"the price catalog has no price for {spec.instance_type} or its volume in "
                f"{spec.region}, so the limit of ${limit:.2f}/h cannot be checked; waive "
                "max-hourly-cost for this environment in policy.exceptions"]
    if hourly > limit:
        return [f"${hourly:.3f}/h while running is over policy.max_hourly_usd ${limit:.2f}/h; "
                "pick a smaller instance type or volume"]
    return []


# Keyed by the names PolicyName in envctl.definitions.project lists, in the order shown.
POLICIES: dict[str, tuple[str, Check]] = {
    "ssh-not-world": ("SSH is not open to the world", check_ssh_not_world),
    "imdsv2-required": ("the instance requires IMDSv2", check_imdsv2),
    "volumes-encrypted": ("every volume is encrypted", check_volumes_encrypted),
    "required-tags": ("the required tags are set", check_required_tags),
    "gpu-autostop": ("a GPU instance has autostop", check_gpu_autostop),
    "allowed-instance-types": ("the instance type is allowed", check_allowed_instance_types),
    "allowed-regions": ("the region is allowed", check_allowed_regions),
    "max-hourly-cost": ("the hourly cost is under the limit", check_max_hourly_cost),
}


def waiver_for(policy: str, spec: EnvironmentSpec, settings: ProjectSettings) -> str | None:
    """Return the reason of the first exception in envctl.yaml that waives policy for spec."""
    for exception in settings.policy.exceptions:
        if exception.policy == policy and exception.environment in ("*", spec.name, spec.id):
            return exception.reason
    return None


def evaluate(spec: EnvironmentSpec, settings: ProjectSettings,
             stack: dict[str, Any] | None = None) -> list[PolicyResult]:
    """Run every policy on one environment: on its synthesized stack when given, else its spec."""
    resources = resources_from_stack(stack) if stack is not None else resources_from_spec(spec)
    results = []
    for name, (description, check) in POLICIES.items():
        problems = check(spec, resources, settings)
        results.append(PolicyResult(
            policy=name,
            environment=spec.name,
            passed=not problems,
            message="; ".join(problems) if problems else description,
            waiver=waiver_for(name, spec, settings) if problems else None,
        ))
    return results


def failure_summary(results: Sequence[PolicyResult]) -> str:
    """Summarize the failed policies per environment in one line, for the CLI's error."""
    failed: dict[str, list[str]] = {}
    for result in results:
        if result.failed:
            failed.setdefault(result.environment, []).append(result.policy)
    parts = [f"{name} ({', '.join(policies)})" for name, policies in failed.items()]
    return (f"{sum(len(p) for p in failed.values())} policy check(s) failed: {'; '.join(parts)}. "
            "Fix the environments, or waive a policy in envctl.yaml under policy.exceptions "
            "with a reason")
