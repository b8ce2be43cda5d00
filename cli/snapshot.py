"""envctl snapshot: snapshot an environment's data volume now and wait until it completes."""

from __future__ import annotations

import click

from envctl.cli.options import Context, open_workspace, pass_context, sandbox_option


@click.command()
@click.argument("environment")
@click.option("--note", default="", metavar="TEXT",
              help="Why the snapshot was taken; shown by `envctl snapshots` (at most 255 "
                   "characters).")
@sandbox_option
@pass_context
def snapshot(ctx: Context, environment: str, note: str, sandbox: bool) -> None:
    """Take an EBS snapshot of the environment's data volume and wait until it completes.

    Progress goes to stderr. The snapshot is tagged with the environment's id, so it stays
    listed after the volume is gone. A snapshot taken while the box writes to the volume
    contains only what had reached the disk, so stop the environment first for a consistent
    copy.

    \b
    Example:
      envctl snapshot whisper --note "before upgrading CUDA"
    """
    from envctl.backups.snapshots import take_snapshot

    workspace = open_workspace(ctx, sandbox, None, None)
    spec = workspace.project.environment(environment)
    created = take_snapshot(workspace, spec, note=note, on_progress=print_progress)
    ctx.emit(f"{spec.name}: snapshot {created.snapshot_id} of {created.volume_id} completed\n"
             f"List them with: envctl snapshots {spec.name}", created.to_json())


def print_progress(snapshot_id: str, progress: str) -> None:
    click.echo(f"  {snapshot_id}: {progress or 'pending'}", err=True)
