"""envctl create: write a new environment file from a template, ready to commit."""

from __future__ import annotations

from pathlib import Path

import click

from envctl.cli.options import Context, pass_context
from envctl.errors import EnvctlError


@click.command()
@click.argument("name")
@click.option("--template", "template", metavar="TEMPLATE", default=None,
              help="Template to extend: one in templates/ or one that envctl ships "
                   "(see `envctl template ls`).")
@click.option("--type", "instance_type", metavar="TYPE", default=None,
              help="EC2 instance type, such as g5.2xlarge, instead of the template's.")
@pass_context
def create(ctx: Context, name: str, template: str | None, instance_type: str | None) -> None:
    """Write environments/NAME.yaml extending a template, with a new id and you as owner.

    The owner is `name` from your settings file (~/.config/envctl/config.yaml). A shipped
    template that the project lacks is copied into templates/ too. Nothing is created in
    the cloud: commit the files, then plan and apply.

    \b
    Example:
      envctl create my-sd --template dreambooth --type g5.xlarge
    """
    from envctl.personal import load_user_settings
    from envctl.templating.creation import create_environment

    if template is None:
        raise EnvctlError(f"say what {name} starts from: pass --template TEMPLATE "
                          "(see `envctl template ls`)")
    created = create_environment(Path(ctx.project_dir), name, template, load_user_settings(),
                                 instance_type)
    files = [_shown(path) for path in created.written]
    ctx.emit(
        f"Created {', '.join(files)} for {name} ({created.environment_id}, owner "
        f"{created.owner}).\nNext: git add {' '.join(files)} && envctl plan {name}",
        {"name": name, "id": created.environment_id, "owner": created.owner,
         "template": created.template, "files": files},
    )


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
