"""envctl template: list, show, share and import templates."""

from __future__ import annotations

from pathlib import Path

import click

from envctl.cli.options import Context, pass_context
from envctl.definitions.loader import find_root
from envctl.errors import DefinitionError, EnvctlError
from envctl.templating.catalog import TEMPLATES_FOLDER, available_templates, find_template


@click.group()
def template() -> None:
    """Templates: shared bases that environments extend (templates/NAME.yaml).

    Templates come from the project's templates/ folder and from those envctl ships; a
    project template hides a shipped one of the same name.
    """


@template.command("ls")
@pass_context
def list_templates(ctx: Context) -> None:
    """List the templates an environment can extend."""
    sources = available_templates(_project_root(ctx))
    width = max((len(source.name) for source in sources), default=0)
    lines = [f"{source.name:<{width}}  {source.origin:<7}  {source.description}"
             for source in sources]
    ctx.emit("\n".join(lines) or "no templates",
             [{"name": source.name, "origin": source.origin, "location": source.location,
               "description": source.description} for source in sources])


@template.command("show")
@click.argument("name")
@pass_context
def show_template(ctx: Context, name: str) -> None:
    """Print a template's file."""
    source = find_template(name, _project_root(ctx))
    ctx.emit(source.text.rstrip("\n"),
             {"name": source.name, "origin": source.origin, "location": source.location,
              "text": source.text})


@template.command("share")
@click.argument("name")
@pass_context
def share_template(ctx: Context, name: str) -> None:
    """Print a link that carries the whole template, for `envctl template import`.

    The link contains the template file only: secret names and never values, and none of
    your personal settings.
    """
    from envctl.templating.links import share_link

    source = find_template(name, _project_root(ctx))
    link = share_link(source.name, source.text)
    ctx.emit(link, {"name": source.name, "link": link})


@template.command("import")
@click.argument("link")
@click.option("--name", "new_name", default=None, help="Save it under this name instead.")
@click.option("--force", is_flag=True, help="Replace a different template of the same name.")
@pass_context
def import_template(ctx: Context, link: str, new_name: str | None, force: bool) -> None:
    """Write the template in LINK to templates/NAME.yaml, without any network access.

    Read its setup script before applying an environment that extends it: the link's
    checksum catches damage, not intent.
    """
    from envctl.templating.catalog import check_name
    from envctl.templating.links import read_link

    shared = read_link(link)
    name = check_name(new_name) if new_name else shared.name
    path = find_root(Path(ctx.project_dir)) / TEMPLATES_FOLDER / f"{name}.yaml"
    if path.exists() and path.read_text(encoding="utf-8") == shared.text:
        ctx.emit(f"{path} is already this template", {"name": name, "path": str(path),
                                                        "changed": False})
        return
    if path.exists() and not force:
        raise EnvctlError(f"{path} already exists with other content; pass --force to replace "
                          "it, or --name to save the link under another name")
    path.parent.mkdir(exist_ok=True)
    path.write_text(shared.text, encoding="utf-8")
    ctx.emit(f"Wrote {path}. Review it with: envctl template show {name}",
             {"name": name, "path": str(path), "changed": True})


def _project_root(ctx: Context) -> Path | None:
    """Return the project root, or None outside a project, where only shipped templates show."""
    try:
        return find_root(Path(ctx.project_dir))
    except DefinitionError:
        return None
