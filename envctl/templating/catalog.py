"""Find templates: a project's templates/ folder first, then the templates envctl ships."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError

from envctl.definitions import catalog
from envctl.definitions.models import DNS_LABEL, TemplateDefinition
from envctl.definitions.yamlfile import validate
from envctl.errors import DefinitionError

TEMPLATES_FOLDER = "templates"


@dataclass(frozen=True)
class TemplateSource:
    """One template's text and where it comes from."""

    name: str
    origin: Literal["project", "shipped"]
    location: str
    text: str

    @property
    def description(self) -> str:
        data = YAML(typ="safe").load(self.text) or {}
        description = data.get("description") if isinstance(data, dict) else None
        return " ".join(str(description or "").split())


def shipped_templates() -> dict[str, TemplateSource]:
    """Return the templates in envctl's package data, by name."""
    folder = resources.files("envctl.definitions").joinpath(TEMPLATES_FOLDER)
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".yaml"):
            name = entry.name.removesuffix(".yaml")
            found[name] = TemplateSource(name, "shipped", f"envctl:{TEMPLATES_FOLDER}/{name}",
                                         entry.read_text(encoding="utf-8"))
    return found


def project_templates(root: Path | None) -> dict[str, TemplateSource]:
    """Return the templates in a project's templates/ folder, by name."""
    if root is None:
        return {}
    found = {}
    for path in sorted((root / TEMPLATES_FOLDER).glob("*.yaml")):
        found[path.stem] = TemplateSource(path.stem, "project", str(path),
                                          path.read_text(encoding="utf-8"))
    return found


def available_templates(root: Path | None) -> list[TemplateSource]:
    """Return every template by name; a project template hides a shipped one of that name."""
    merged = {**shipped_templates(), **project_templates(root)}
    return [merged[name] for name in sorted(merged)]


def find_template(name: str, root: Path | None) -> TemplateSource:
    """Return the template called name, or raise with the nearest known name."""
    for source in available_templates(root):
        if source.name == name:
            return source
    names = [source.name for source in available_templates(root)]
    hint = catalog.nearest(name, names)
    fix = f"did you mean {hint!r}?" if hint else f"known: {', '.join(names) or 'none'}"
    raise DefinitionError(str(root / TEMPLATES_FOLDER) if root else TEMPLATES_FOLDER, None,
                          "template", f"no template named {name!r}", fix)


def check_name(name: str, field: str = "template") -> str:
    """Check that name can be a template file name and a `template:` value."""
    if not DNS_LABEL.match(name):
        raise DefinitionError(TEMPLATES_FOLDER, None, field, f"{name!r} is not a template name",
                              "use lowercase letters, digits and '-', at most 63 characters")
    return name


def parse_template(text: str, where: str) -> TemplateDefinition:
    """Parse and validate template text; errors name where and the line."""
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        raise DefinitionError(where, line, "", f"invalid YAML: {error.problem}",
                              "fix the syntax") from None
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise DefinitionError(where, 1, "", "expected a mapping of keys to values")
    return validate(TemplateDefinition, data, Path(where))
