"""The data-impact label: what a plan does to the data volume, the root disk and the box.

It reads Terraform's plan JSON (`terraform show -json PLANFILE`), so it labels any plan,
whoever made it. The labels:

- volume: kept, created, modified in place, moved, replaced or destroyed;
- root disk: kept, created, replaced or destroyed;
- box: untouched, created, updated in place, restarted, replaced or destroyed.

A change to tags alone leaves the volume "kept" and the box "untouched": it touches neither
the data nor the running machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VOLUME_TYPE = "aws_ebs_volume"
INSTANCE_TYPE = "aws_instance"
ATTACHMENT_TYPE = "aws_volume_attachment"

# In-place changes to these arguments stop and start the instance, although Terraform calls
# the change an update: the AWS provider stops the box, modifies the attribute and starts it.
RESTARTING_ARGUMENTS = (
    "instance_type",
    "user_data",
    "user_data_base64",
    "ebs_optimized",
    "cpu_core_count",
    "cpu_threads_per_core",
)
# Metadata only: changing these leaves the data and the running machine alone.
TAG_ARGUMENTS = frozenset({"tags", "tags_all"})

LOSES_DATA = ("replaced", "destroyed")


@dataclass(frozen=True)
class DataImpact:
    """What happens to each part of an environment that holds or runs the user's work.

    volume_edits lists (argument, before, after) for the volume arguments that force its
    replacement; move describes a move through a snapshot; both feed the refusal message.
    """

    volume: str = "kept"
    root_disk: str = "kept"
    box: str = "untouched"
    reasons: tuple[str, ...] = ()
    volume_edits: tuple[tuple[str, str, str], ...] = ()
    move: str | None = None

    @property
    def loses_data(self) -> bool:
        return self.volume in LOSES_DATA

    def label(self) -> str:
        volume = f"moved {self.move}" if self.move else self.volume
        return f"volume {volume}, root disk {self.root_disk}, box {self.box}"

    @property
    def volume_reason(self) -> str | None:
        """The reason that names the data volume, if the plan changes it."""
        return next((reason for reason in self.reasons if VOLUME_TYPE in reason), None)


def action_of(change: dict[str, Any]) -> str:
    """Name a resource change the way Terraform's plan output does."""
    actions = change.get("change", {}).get("actions", ["no-op"])
    if actions in (["delete", "create"], ["create", "delete"]):
        return "replace"
    return actions[0] if actions else "no-op"


def data_impact(plan: dict[str, Any]) -> DataImpact:
    """Label a plan: see the module docstring for the values of each part."""
    volume, root_disk, box = "kept", "kept", "untouched"
    reasons: list[str] = []
    volume_edits: tuple[tuple[str, str, str], ...] = ()
    for change in managed_changes(plan.get("resource_changes", [])):
        action = action_of(change)
        if change["type"] == VOLUME_TYPE:
            volume = _volume_label(change, action)
            volume_edits = _forcing_edits(change)
            reasons.append(_reason(change, action))
        elif change["type"] == INSTANCE_TYPE:
            root_disk, box = _instance_labels(change, action)
            reasons.append(_reason(change, action))
    move = _move(plan)
    if move:
        volume = "moved"
    missing = _missing_volume(plan)
    if missing and volume == "created":
        volume = "replaced"
        reasons.insert(0, missing)
    return DataImpact(volume=volume, root_disk=root_disk, box=box, reasons=tuple(reasons),
                      volume_edits=volume_edits, move=move)


def managed_changes(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resource changes that do something: managed resources, no no-ops or reads."""
    return [change for change in changes
            if change.get("mode") != "data" and action_of(change) not in ("no-op", "read")]


def _volume_label(change: dict[str, Any], action: str) -> str:
    if action == "update" and changed_arguments(change) <= TAG_ARGUMENTS:
        return "kept"
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
    arguments = changed_arguments(change)
    if arguments.intersection(RESTARTING_ARGUMENTS):
        return "kept", "restarted"
    if arguments <= TAG_ARGUMENTS:
        return "kept", "untouched"
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


def _forcing_edits(change: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """(argument, before, after) for each top-level argument that forces a replacement."""
    details = change.get("change", {})
    before = details.get("before") or {}
    after = details.get("after") or {}
    names = sorted({str(path[0]) for path in details.get("replace_paths") or [] if path})
    return tuple((name, _shown(before.get(name)), _shown(after.get(name))) for name in names)


def _shown(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _move(plan: dict[str, Any]) -> str | None:
    """Describe a move: a new volume from a snapshot replacing the attachment of an old one.

    envctl move takes the old volume out of the state first, so the plan creates the new
    volume and re-points the attachment, and nothing in it destroys the old volume.
    """
    changes = managed_changes(plan.get("resource_changes", []))
    snapshot = next((
        (change["change"].get("after") or {}).get("snapshot_id") for change in changes
        if change["type"] == VOLUME_TYPE and action_of(change) == "create"), None)
    old_volume = next((
        (change["change"].get("before") or {}).get("volume_id") for change in changes
        if change["type"] == ATTACHMENT_TYPE and action_of(change) in ("replace", "delete")),
        None)
    if not snapshot or not old_volume:
        return None
    return f"via snapshot {snapshot}, old volume {old_volume} kept"


def _missing_volume(plan: dict[str, Any]) -> str | None:
    """Name a data volume that the state records but the provider no longer finds.

    It happens when the region changes or the volume was deleted outside Terraform. The plan
    then creates an empty volume, which replaces the data as surely as a forced replacement.
    """
    for drift in plan.get("resource_drift") or []:
        if drift.get("type") == VOLUME_TYPE and action_of(drift) == "delete":
            before = drift["change"].get("before") or {}
            return (f"{drift['address']} {before.get('id', '')} was not found in "
                    f"{before.get('availability_zone', 'its zone')} (region changed, or "
                    "deleted outside envctl)")
    return None


def _reason(change: dict[str, Any], action: str) -> str:
    details = change.get("change", {})
    forcing = [".".join(str(p) for p in path) for path in details.get("replace_paths") or []]
    text = f"{change['address']} will be {_past(action)}"
    if forcing:
        text += f" ({', '.join(sorted(forcing))} forces replacement)"
    elif change.get("action_reason") == "replace_by_triggers":
        # Provider 4.x and later update user data in place, so envctl's stacks replace the
        # instance through replace_triggered_by. The plan then names no forcing argument.
        arguments = sorted(changed_arguments(change))
        text += f" (replace_triggered_by, {', '.join(arguments) or 'a trigger'} changed)"
    elif action == "update":
        arguments = sorted(changed_arguments(change))
        if arguments:
            text += f" ({', '.join(arguments)})"
    return text


def _past(action: str) -> str:
    return {"create": "created", "update": "updated in place", "replace": "replaced",
            "delete": "destroyed"}.get(action, action)


def data_loss_message(environment: str, impact: DataImpact) -> str:
    """Explain a refused plan: the change that loses the data, and what to do instead."""
    cause = impact.volume_reason or "the plan replaces or destroys the data volume"
    return (f"{environment}: refusing to apply: {cause}, so the data volume would be "
            f"{impact.volume} and its files lost; {_safe_alternative(environment, impact)}, or "
            f"pass --allow-data-loss {environment} to accept the loss")


def _safe_alternative(environment: str, impact: DataImpact) -> str:
    edits = {name: (before, after) for name, before, after in impact.volume_edits}
    if "availability_zone" in edits:
        before, after = edits["availability_zone"]
        return (f"to keep the data, set availability_zone back to {before} and run "
                f"`envctl move {environment} --zone {after}`, which copies the volume through "
                "a snapshot and keeps the old one")
    if edits:
        undo = ", ".join(f"volume {name} back to {before}" for name, (before, _) in
                         edits.items())
        return f"to keep the data, set {undo} in the environment file"
    if impact.volume == "destroyed":
        return f"to keep the data, run `envctl destroy {environment}` without --delete-volume"
    if impact.volume_reason and "was not found" in impact.volume_reason:
        return ("if the region changed, set it back (moving a volume to another region is not "
                "supported); if the volume was deleted, restore it from a snapshot")
    return "undo the edit that causes it"
