"""The part of `envctl create` that starts a new environment from a snapshot or a clone."""

from __future__ import annotations

from envctl.cli.options import Context, open_workspace
from envctl.errors import EnvctlError


def create_from_backup(ctx: Context, name: str, snapshot_id: str | None, clone: str | None,
                       owner: str | None, sandbox: bool) -> None:
    """Write environments/NAME.yaml as a copy whose volume starts from a snapshot.

    With snapshot_id, the copy is of the environment the snapshot was taken from; with
    clone, of that environment, from a snapshot taken now.
    """
    from envctl.backups.clone import clone_environment, environment_from_snapshot
    from envctl.cli.snapshot import print_progress

    if (snapshot_id is None) == (clone is None):
        raise EnvctlError(f"say what {name} starts from: pass --from-snapshot ID or "
                          "--clone ENV, not both")
    workspace = open_workspace(ctx, sandbox, None, None)
    if clone is not None:
        created = clone_environment(workspace, clone, name, owner, on_progress=print_progress)
    else:
        created = environment_from_snapshot(workspace, name, str(snapshot_id), owner)
    snapshot = created.snapshot.snapshot_id
    ctx.emit(
        f"Created {created.path} for {name}, a copy of {created.copied_from} whose volume "
        f"starts from {snapshot}.\nNext: git add {created.path} && envctl apply {name}",
        {"name": name, "file": str(created.path), "snapshot_id": snapshot,
         "copied_from": created.copied_from},
    )

