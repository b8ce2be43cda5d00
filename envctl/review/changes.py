"""Detection of the environments a change touches, compared with a git ref.

An environment is touched when its own file changed, when the template it extends changed,
or when a project-wide file (envctl.yaml, terraform.tfvars) changed. A deleted environment
file means the environment goes away: its spec comes from the file at the base commit, and
planning it means planning its destroy.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from envctl.definitions.loader import PROJECT_FILE, Project, check_project
from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import EnvctlError
from envctl.review import git

# Files that every environment's stack reads.
PROJECT_WIDE_FILES = (PROJECT_FILE, "terraform.tfvars")
DEFINITION_FOLDERS = ("environments", "templates")


@dataclass(frozen=True)
class ChangedEnvironment:
    """An environment to plan, with why: added, modified, or a dependency changed."""

    spec: EnvironmentSpec
    change: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class DeletedEnvironment:
    """An environment whose file is gone; spec is how the base commit defined it."""

    spec: EnvironmentSpec
    path: str


@dataclass
class ChangeSet:
    """Everything that differs from the base commit, sorted into environments."""

    ref: str
    base_commit: str
    changed: list[ChangedEnvironment] = field(default_factory=list)
    deleted: list[DeletedEnvironment] = field(default_factory=list)
    base: Project | None = None

    def before(self, environment_id: str) -> EnvironmentSpec | None:
        """Return an environment's spec at the base commit, or None when it did not exist there."""
        if self.base is None:
            return None
        return next((spec for spec in self.base.environments if spec.id == environment_id), None)


def detect_changes(project: Project, ref: str) -> ChangeSet:
    """Compare the project's work tree with the merge base of HEAD and ref."""
    top = git.top_level(project.root)
    folder = PurePosixPath(project.root.resolve().relative_to(top).as_posix())
    base_commit = git.merge_base(top, ref)
    files = git.changed_files(top, base_commit, folder)
    changeset = ChangeSet(ref=ref, base_commit=base_commit,
                          base=load_project_at(top, base_commit, folder))
    relative = [(change.status, change.path.relative_to(folder)) for change in files]
    _sort_changes(project, changeset, relative)
    return changeset


def load_project_at(top: Path, commit: str, folder: PurePosixPath) -> Project | None:
    """Load the project as committed in commit; None when it had no envctl.yaml there.

    Files that do not load at that commit are left out, as `envctl validate` reports them.
    """
    wanted = [path for path in git.files_at(top, commit, folder)
              if _is_definition(path.relative_to(folder))]
    if folder / PROJECT_FILE not in wanted:
        return None
    with tempfile.TemporaryDirectory(prefix="envctl-base-") as scratch:
        for path in wanted:
            target = Path(scratch) / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(git.show_file(top, commit, path))
        project, _errors = check_project(Path(scratch))
    return project


def _is_definition(path: PurePosixPath) -> bool:
    return str(path) == PROJECT_FILE or any(_in_folder(path, folder)
                                            for folder in DEFINITION_FOLDERS)


def _sort_changes(project: Project, changeset: ChangeSet,
                  files: Sequence[tuple[str, PurePosixPath]]) -> None:
    reasons: dict[str, list[str]] = {}
    deleted: list[PurePosixPath] = []
    for status, path in files:
        if _in_folder(path, "environments") and status == "D":
            deleted.append(path)
            continue
        for environment_id, reason in _touched(project, status, path):
            reasons.setdefault(environment_id, []).append(reason)
    _add_deleted(project, changeset, deleted, reasons)
    for spec in project.environments:
        if spec.id in reasons:
            changeset.changed.append(ChangedEnvironment(
                spec=spec, change=_kind(changeset, spec, reasons[spec.id]),
                reasons=tuple(reasons[spec.id])))


def _touched(project: Project, status: str, path: PurePosixPath) -> list[tuple[str, str]]:
    """List the environments a changed file touches, by id, each with the reason."""
    if str(path) in PROJECT_WIDE_FILES:
        return [(spec.id, f"{path} changed") for spec in project.environments]
    if _in_folder(path, "templates"):
        return [(spec.id, f"template {path.stem} changed") for spec in project.environments
                if spec.template == path.stem]
    if _in_folder(path, "environments"):
        own = (project.root / path).resolve()
        return [(spec.id, f"{path} {_verb(status)}") for spec in project.environments
                if spec.source.resolve() == own]
    return []


def _in_folder(path: PurePosixPath, folder: str) -> bool:
    return len(path.parts) == 2 and path.parts[0] == folder and path.suffix == ".yaml"


def _add_deleted(project: Project, changeset: ChangeSet, deleted: list[PurePosixPath],
                 reasons: dict[str, list[str]]) -> None:
    current_ids = {spec.id for spec in project.environments}
    for path in deleted:
        before = _spec_from_file(changeset, path)
        if before.id in current_ids:
            # The same id lives on in another file: a rename, which moves nothing.
            reasons.setdefault(before.id, []).append(f"renamed from {path}")
            continue
        changeset.deleted.append(DeletedEnvironment(spec=before, path=str(path)))


def _spec_from_file(changeset: ChangeSet, path: PurePosixPath) -> EnvironmentSpec:
    base = changeset.base
    if base is not None:
        for spec in base.environments:
            if spec.source.name == path.name and spec.source.parent.name == path.parts[0]:
                return spec
    raise EnvctlError(
        f"{path} was deleted, but it does not load at {changeset.base_commit[:12]}, so its "
        f"destroy cannot be planned; restore the file, run `envctl destroy` for it, then "
        f"delete it")


def _verb(status: str) -> str:
    return {"A": "added", "D": "deleted"}.get(status, "changed")


def _kind(changeset: ChangeSet, spec: EnvironmentSpec, reasons: list[str]) -> str:
    if changeset.before(spec.id) is None:
        return "added"
    own_file = any(reason.startswith("environments/") or reason.startswith("renamed from")
                   for reason in reasons)
    return "modified" if own_file else "dependency"
