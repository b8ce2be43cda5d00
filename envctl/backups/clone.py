"""New environments whose data volume starts from a snapshot: a copy of a working setup with
its data, such as one to hand a teammate.

These functions write environment files and change nothing in the cloud except the snapshot a
clone takes; `envctl apply NAME` then creates the environment.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from envctl.backups.snapshots import (
    ProgressCallback,
    Snapshot,
    SnapshotNotFound,
    check_fits,
    describe_snapshot,
    take_snapshot,
)
from envctl.backups.tags import ENVIRONMENT_TAG
from envctl.definitions.editing import set_field
from envctl.definitions.loader import load_project
from envctl.definitions.models import DNS_LABEL
from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import EnvctlError
from envctl.workspace import Workspace


@dataclass(frozen=True)
class NewEnvironment:
    """An environment file written from a snapshot, ready for `envctl apply`."""

    name: str
    path: Path
    snapshot: Snapshot
    # The environment whose definition the new file copies, if any.
    copied_from: str | None


def new_environment_id() -> str:
    """Generate an immutable environment id: env- and 8 random hex digits."""
    return f"env-{secrets.token_hex(4)}"


def start_from_snapshot(workspace: Workspace, environment_file: Path,
                        snapshot_id: str) -> Snapshot:
    """Make the environment defined in environment_file start its volume from snapshot_id.

    For a new environment's file: it checks that the snapshot fits the volume and records
    volume.snapshot_id there. On an environment that already has a volume, the next plan
    would replace that volume, which apply rejects without --allow-data-loss.
    """
    root = workspace.project.root
    project = load_project(root)
    spec = next((spec for spec in project.environments
                 if spec.source.resolve() == environment_file.resolve()), None)
    if spec is None:
        raise EnvctlError(f"{environment_file} is not an environment file of the project in "
                          f"{root}; write it under {root / 'environments'}")
    snapshot = describe_snapshot(workspace, spec.region, snapshot_id)
    check_fits(spec, snapshot)
    set_field(environment_file, ("volume", "snapshot_id"), snapshot_id)
    workspace.project = load_project(root)
    return snapshot


def clone_environment(workspace: Workspace, source_name: str, name: str,
                      owner: str | None = None,
                      on_progress: ProgressCallback | None = None) -> NewEnvironment:
    """Snapshot an environment's volume now and write environment NAME that starts from it."""
    source = workspace.project.environment(source_name)
    target = _new_file(workspace, name)
    snapshot = take_snapshot(workspace, source, note=f"clone of {source.name} as {name}",
                             kind="clone", on_progress=on_progress)
    _write_copy(workspace, source.source, target, name, owner, snapshot.snapshot_id)
    return NewEnvironment(name, target, snapshot, source.name)


def environment_from_snapshot(workspace: Workspace, name: str, snapshot_id: str,
                              owner: str | None = None) -> NewEnvironment:
    """Write environment NAME as a copy of the environment the snapshot was taken from."""
    target = _new_file(workspace, name)
    snapshot = _find_snapshot(workspace, snapshot_id)
    source = _snapshot_source(workspace, snapshot, target)
    _write_copy(workspace, source.source, target, name, owner, snapshot_id)
    return NewEnvironment(name, target, snapshot, source.name)


def copy_definition(source: Path, target: Path, name: str, owner: str | None) -> None:
    """Write target as a copy of source with a new id and name, keeping comments and layout.

    The copy drops volume.snapshot_id, which start_from_snapshot sets.
    """
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    data = yaml.load(source.read_text(encoding="utf-8"))
    data["id"] = new_environment_id()
    data["name"] = name
    if owner:
        data["owner"] = owner
    volume = data.get("volume")
    if isinstance(volume, dict):
        volume.pop("snapshot_id", None)
    with target.open("x", encoding="utf-8") as handle:
        yaml.dump(data, handle)


def _new_file(workspace: Workspace, name: str) -> Path:
    if not DNS_LABEL.match(name):
        raise EnvctlError(f"{name!r} is not a valid environment name; use lowercase letters, "
                          "digits and '-', at most 63 characters")
    names = {spec.name for spec in workspace.project.environments}
    target = workspace.project.root / "environments" / f"{name}.yaml"
    if name in names or target.exists():
        raise EnvctlError(f"an environment named {name!r} already exists ({target}); choose "
                          "another name")
    return target


def _write_copy(workspace: Workspace, source: Path, target: Path, name: str,
                owner: str | None, snapshot_id: str) -> None:
    copy_definition(source, target, name, owner)
    try:
        start_from_snapshot(workspace, target, snapshot_id)
    except EnvctlError:
        target.unlink()
        workspace.project = load_project(workspace.project.root)
        raise


def _snapshot_source(workspace: Workspace, snapshot: Snapshot, target: Path) -> EnvironmentSpec:
    """Return the project's environment that the snapshot was taken from, the one to copy."""
    snapshot_id = snapshot.snapshot_id
    fix = f"write {target} yourself, with volume.snapshot_id: {snapshot_id}"
    if snapshot.environment_id is None:
        raise EnvctlError(f"snapshot {snapshot_id} has no {ENVIRONMENT_TAG} tag, so there is "
                          f"no definition to copy; {fix}")
    for spec in workspace.project.environments:
        if spec.id == snapshot.environment_id:
            return spec
    raise EnvctlError(f"snapshot {snapshot_id} was taken from environment "
                      f"{snapshot.environment_id}, which this project does not define; {fix}")


def _find_snapshot(workspace: Workspace, snapshot_id: str) -> Snapshot:
    """Look for the snapshot in every region the project uses, default region first."""
    project = workspace.project
    regions = dict.fromkeys([project.settings.region,
                             *(spec.region for spec in project.environments)])
    for region in regions:
        try:
            return describe_snapshot(workspace, region, snapshot_id)
        except SnapshotNotFound:
            continue
    raise SnapshotNotFound(f"snapshot {snapshot_id} not found in {', '.join(regions)}; list them "
                     "with `envctl snapshots ENV`")
