"""New environments from a template: environments/NAME.yaml with a fresh immutable id."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from envctl.definitions.loader import check_project, find_root
from envctl.definitions.models import DNS_LABEL
from envctl.errors import DefinitionError, EnvctlError
from envctl.personal import UserSettings, config_path
from envctl.templating.catalog import TEMPLATES_FOLDER, find_template

ENVIRONMENTS_FOLDER = "environments"


@dataclass(frozen=True)
class CreatedEnvironment:
    """The result of `create`: the environment file and any template copied into the project."""

    name: str
    environment_id: str
    owner: str
    template: str
    path: Path
    written: tuple[Path, ...] = field(default_factory=tuple)


def create_environment(project_dir: Path, name: str, template: str, settings: UserSettings,
                       instance_type: str | None = None) -> CreatedEnvironment:
    """Write environments/NAME.yaml extending template, owned by the user in settings.

    A shipped template that the project lacks is copied into templates/ first, so the
    project stays complete without this envctl version. The new files are loaded with the
    rest of the project, and removed again when they do not validate.
    """
    root = find_root(project_dir)
    owner = _owner(settings)
    path = root / ENVIRONMENTS_FOLDER / f"{name}.yaml"
    existing = _check_new_name(root, name, path)
    source = find_template(template, root)
    written: list[Path] = []
    try:
        if source.origin == "shipped":
            template_path = root / TEMPLATES_FOLDER / f"{template}.yaml"
            template_path.parent.mkdir(exist_ok=True)
            template_path.write_text(source.text, encoding="utf-8")
            written.append(template_path)
        environment_id = _new_id(existing)
        path.parent.mkdir(exist_ok=True)
        path.write_text(environment_text(environment_id, name, owner, template, instance_type),
                        encoding="utf-8")
        written.append(path)
        _check_written(root, written)
    except BaseException:
        for done in written:
            done.unlink(missing_ok=True)
        raise
    return CreatedEnvironment(name, environment_id, owner, template, path, tuple(written))


def environment_text(environment_id: str, name: str, owner: str, template: str,
                     instance_type: str | None) -> str:
    """Render a new environment file that sets only what differs from its template."""
    lines = [
        f"# {name}: created by `envctl create` from the {template} template. Set only what",
        "# differs from the template: maps merge with it, scalars and lists replace, and a",
        "# list under `key+:` (such as repos+:) is added to the template's list.",
        "",
        "# The id keys this environment's Terraform stack and state. It never changes, so",
        "# renaming the environment moves nothing. Never edit it.",
        f"id: {environment_id}",
        f"name: {name}",
        f"owner: {owner}",
        f"template: {template}",
    ]
    if instance_type:
        lines += ["", "instance:", f"  type: {instance_type}"]
    return "\n".join(lines) + "\n"


def _owner(settings: UserSettings) -> str:
    if settings.name is None:
        raise EnvctlError(f"no owner name: {config_path()} does not set name; add a line such "
                          "as `name: alice` there")
    return settings.name


def _check_new_name(root: Path, name: str, path: Path) -> set[str]:
    """Check that name is free; return the ids already in use."""
    if not DNS_LABEL.match(name):
        raise DefinitionError(str(path), None, "name", f"{name!r} is not a DNS label",
                              "use lowercase letters, digits and '-', at most 63 characters")
    if path.exists():
        raise EnvctlError(f"{path} already exists; choose another name or edit that file")
    project, _ = check_project(root)
    for spec in project.environments:
        if spec.name == name:
            raise EnvctlError(f"an environment named {name!r} already exists in {spec.source}; "
                              "choose another name")
    return {spec.id for spec in project.environments}


def _new_id(existing: set[str]) -> str:
    while True:
        candidate = f"env-{secrets.token_hex(4)}"
        if candidate not in existing:
            return candidate


def _check_written(root: Path, written: list[Path]) -> None:
    """Raise the first definition error in the new files; errors elsewhere are not ours."""
    _, errors = check_project(root)
    paths = {str(path) for path in written}
    for error in errors:
        if error.path in paths:
            raise error
