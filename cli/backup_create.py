"""The part of `envctl create` that starts a new environment from a snapshot or a clone."""

from __future__ import annotations

from envctl.cli.options import Context, open_workspace
from envctl.errors import EnvctlError


def create_from_backup(ctx: Context, name: str, snapshot_id: str | None, clone: str | None,
                       sandbox: bool, template_options: dict[str, str | None]) -> None:
    """Write environments/NAME.yaml as a copy whose volume starts from a snapshot.

    With snapshot_id, the copy is of the environment the snapshot was taken from. With
    clone, it is of that environment, and its volume starts from a snapshot taken now. The
    owner is `name` from the user's settings. template_options maps each option that only
    --template takes to its value, and every value must be None.
    """
    from envctl.backups.clone import clone_environment, environment_from_snapshot
    from envctl.cli.snapshot import print_progress
    from envctl.personal import config_path, load_user_settings

    if snapshot_id is not None and clone is not None:
        raise EnvctlError(f"{name} can start from one source only: pass either "
                          "--from-snapshot ID or --clone ENV, not both")
    conflicting = [option for option, value in template_options.items() if value is not None]
    if conflicting:
        raise EnvctlError(f"{', '.join(conflicting)} cannot be combined with --from-snapshot or "
                          "--clone, because a copy keeps its source's settings; change its "
                          f"type afterwards with `envctl scale {name} --type TYPE`")
    owner = load_user_settings().name
    if owner is None:
        raise EnvctlError(f"no owner name: {config_path()} does not set name; add a line such "
                          "as `name: alice` there")
    workspace = open_workspace(ctx, sandbox, None, None)
    if clone is not None:
        created = clone_environment(workspace, clone, name, owner, on_progress=print_progress)
    else:
        created = environment_from_snapshot(workspace, name, str(snapshot_id), owner)
    snapshot = created.snapshot.snapshot_id
    path = created.path
    environment_id = workspace.project.environment(name).id
    ctx.emit(
        f"Created {path} for {name} ({environment_id}, owner {owner}), a copy of "
        f"{created.copied_from} whose volume starts from {snapshot}.\nNext: git add {path} "
        f"&& envctl apply {name}",
        {"name": name, "id": environment_id, "file": str(path), "owner": owner,
         "snapshot_id": snapshot, "copied_from": created.copied_from},
    )
