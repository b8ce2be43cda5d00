"""The data-impact label: what a plan does to the data volume, the root disk and the box.

It reads Terraform's plan JSON (`terraform show -json PLANFILE`), so it labels any plan,
whoever made it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VOLUME_TYPE = "aws_ebs_volume"
INSTANCE_TYPE = "aws_instance"

# In-place changes to these arguments stop and start the instance, although Terraform calls
# the change an update.
RESTARTING_ARGUMENTS = (
    "instance_type",
    "user_data",
    "user_data_base64",
    "ebs_optimized",
    "cpu_core_count",
    "cpu_threads_per_core",
)


@dataclass(frozen=True)
class DataImpact:
    """What happens to each part of an environment that holds or runs the user's work."""

    volume: str = "kept"
    root_disk: str = "kept"
    box: str = "untouched"
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def loses_data(self) -> bool:
        return self.volume in ("replaced", "destroyed")

    def label(self) -> str:
        return f"volume {self.volume}, root disk {self.root_disk}, box {self.box}"


def action_of(change: dict[str, Any]) -> str:
    """Name a resource change the way Terraform's plan output does."""
    actions = change.get("change", {}).get("actions", ["no-op"])
    if actions in (["delete", "create"], ["create", "delete"]):
        return "replace"
    return actions[0] if actions else "no-op"


def data_impact(plan: dict[str, Any]) -> DataImpact:
    """Label a plan: volume kept/created/modified in place/replaced/destroyed, and so on."""
    volume, root_disk, box = "kept", "kept", "untouched"
    reasons: list[str] = []
    for change in plan.get("resource_changes", []):
        if change.get("mode") == "data":
            continue
        action = action_of(change)
        if action in ("no-op", "read"):
            continue
        if change["type"] == VOLUME_TYPE:
            volume = _volume_label(action)
            reasons.append(_reason(change, action))
        elif change["type"] == INSTANCE_TYPE:
            root_disk, box = _instance_labels(change, action)
            reasons.append(_reason(change, action))
    return DataImpact(volume=volume, root_disk=root_disk, box=box, reasons=tuple(reasons))


def _volume_label(action: str) -> str:
    return {
        "create": "created",
        "update": "modified in place",
        "replace": "replaced",
        "delete": "destroyed",
    }.get(action, "kept")


def _instance_labels(change: dict[str, Any], action: str) -> tuple[str, str]:
    if action == "create":
        return "created", "created"
    if action == "delete":
        return "destroyed", "destroyed"
    if action == "replace":
        return "replaced", "replaced"
    if changed_arguments(change).intersection(RESTARTING_ARGUMENTS):
        return "kept", "restarted"
    return "kept", "updated in place"


def changed_arguments(change: dict[str, Any]) -> set[str]:
    """Top-level arguments whose planned value differs from the current one."""
    details = change.get("change", {})
    before = details.get("before") or {}
    after = details.get("after") or {}
    unknown = details.get("after_unknown") or {}
    keys = set(before) | set(after)
    return {key for key in keys if before.get(key) != after.get(key) and not (
        key not in after and unknown.get(key))}


def _reason(change: dict[str, Any], action: str) -> str:
    details = change.get("change", {})
    forcing = [".".join(str(p) for p in path) for path in details.get("replace_paths") or []]
    text = f"{change['address']} will be {_past(action)}"
    if forcing:
        text += f" ({', '.join(sorted(forcing))} forces replacement)"
    elif action == "update":
        arguments = sorted(changed_arguments(change))
        if arguments:
            text += f" ({', '.join(arguments)})"
    return text


def _past(action: str) -> str:
    return {"create": "created", "update": "updated in place", "replace": "replaced",
            "delete": "destroyed"}.get(action, action)
