"""envctl create: write a new environment file from a template, ready to commit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from envctl.cli.options import Context, pass_context, sandbox_option
from envctl.errors import EnvctlError

if TYPE_CHECKING:
    from envctl.prices import PriceRow
    from envctl.templating.creation import CreatedEnvironment


@click.command()
@click.argument("name")
@click.option("--template", "template", metavar="TEMPLATE", default=None,
              help="Template to extend: one in templates/ or one that envctl ships "
                   "(see `envctl template ls`).")
@click.option("--type", "instance_type", metavar="TYPE", default=None,
              help="EC2 instance type, such as g5.2xlarge, instead of the template's.")
@click.option("--gpu", metavar="NAME[:N]", default=None,
              help="Instead of --type: the cheapest type with exactly N GPUs called NAME "
                   "(N defaults to 1), such as A10G or A10G:4, offered in the environment's "
                   "zone.")
@click.option("--from-snapshot", "snapshot_id", metavar="ID", default=None,
              help="Copy the environment that EBS snapshot ID was taken from, with a data "
                   "volume that starts from the snapshot (see `envctl snapshots ENV`).")
@click.option("--clone", metavar="ENV", default=None,
              help="Copy environment ENV, with a data volume that starts from a snapshot of "
                   "ENV's volume taken now.")
@sandbox_option
@pass_context
def create(ctx: Context, name: str, template: str | None, instance_type: str | None,
           gpu: str | None, snapshot_id: str | None, clone: str | None,
           sandbox: bool) -> None:
    """Write environments/NAME.yaml extending a template, with a new id and you as owner.

    The owner is `name` from your settings file (~/.config/envctl/config.yaml). A shipped
    template that the project lacks is copied into templates/ too. Nothing is created in
    the cloud: commit the files, then plan and apply.

    --from-snapshot and --clone copy an existing environment's file instead, with a data
    volume that starts from a snapshot: the way to hand a teammate a working setup with its
    data. --clone takes that snapshot now. Both look the snapshot up in AWS, or in the
    sandbox with --sandbox.

    \b
    Example:
      envctl create my-sd --template dreambooth --type g5.xlarge
      envctl create my-sd --template dreambooth --gpu A10G
      envctl create whisper-bob --clone whisper
    """
    from envctl.personal import load_user_settings
    from envctl.templating.creation import create_environment

    if snapshot_id is not None or clone is not None:
        from envctl.cli.backup_create import create_from_backup

        create_from_backup(ctx, name, snapshot_id, clone, sandbox,
                           {"--template": template, "--type": instance_type, "--gpu": gpu})
        return
    if template is None:
        raise EnvctlError(f"say what {name} starts from: pass --template TEMPLATE (see "
                          "`envctl template ls`), --from-snapshot ID or --clone ENV")
    if instance_type and gpu:
        raise click.UsageError("pass --type or --gpu, not both")
    created = create_environment(Path(ctx.project_dir), name, template, load_user_settings(),
                                 instance_type)
    if gpu:
        picked = _set_gpu_type(created, gpu)
        click.echo(f"--gpu {gpu}: picked {picked.instance_type} (${picked.on_demand}/h on "
                   "demand), the cheapest offered in the environment's zone", err=True)
    files = [_shown(path) for path in created.written]
    ctx.emit(
        f"Created {', '.join(files)} for {name} ({created.environment_id}, owner "
        f"{created.owner}).\nNext: git add {' '.join(files)} && envctl plan {name}",
        {"name": name, "id": created.environment_id, "owner": created.owner,
         "template": created.template, "files": files},
    )


def _set_gpu_type(created: CreatedEnvironment, gpu: str) -> PriceRow:
    """Rewrite the new environment file with the type --gpu selects, or remove what create wrote.

    The pick needs the region and zone that the file resolves to with its template, so it
    happens after the file exists.
    """
    from envctl.definitions.loader import load_project
    from envctl.offers import parse_gpu_request, select_gpu_type_offline
    from envctl.templating.creation import environment_text

    try:
        spec = load_project(created.path.parent.parent).environment(created.name)
        picked = select_gpu_type_offline(parse_gpu_request(gpu), spec.region,
                                         spec.availability_zone, spec.instance_type)
    except EnvctlError:
        for path in created.written:
            path.unlink(missing_ok=True)
        raise
    created.path.write_text(environment_text(created.environment_id, created.name,
                                             created.owner, created.template,
                                             picked.instance_type), encoding="utf-8")
    return picked


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
