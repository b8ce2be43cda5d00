"""Load an envctl project: envctl.yaml, templates/ and environments/, resolved into specs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envctl.definitions import catalog
from envctl.definitions.models import (
    AutostopSpec,
    EnvironmentDefinition,
    NetworkSpec,
    TemplateDefinition,
    VolumeSpec,
)
from envctl.definitions.project import ProjectSettings
from envctl.definitions.spec import EnvironmentSpec
from envctl.definitions.yamlfile import line_of, read_yaml, to_plain, validate
from envctl.errors import DefinitionError

PROJECT_FILE = "envctl.yaml"


@dataclass
class Project:
    """A loaded project: its settings and every environment, resolved."""

    root: Path
    settings: ProjectSettings
    templates: dict[str, TemplateDefinition] = field(default_factory=dict)
    environments: list[EnvironmentSpec] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return self.root / ".envctl" / "state"

    def environment(self, name_or_id: str) -> EnvironmentSpec:
        """Find an environment by name or id."""
        for spec in self.environments:
            if name_or_id in (spec.name, spec.id):
                return spec
        names = [spec.name for spec in self.environments]
        hint = catalog.nearest(name_or_id, names)
        fix = f"did you mean {hint!r}?" if hint else f"known: {', '.join(names) or 'none'}"
        raise DefinitionError(str(self.root / "environments"), None, "", f"no environment named "
                              f"{name_or_id!r}", fix)


def find_root(start: Path) -> Path:
    """Return the project root: start itself or the nearest parent holding envctl.yaml."""
    start = start.resolve()
    if start.is_file():
        start = start.parent
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).exists():
            return folder
    raise DefinitionError(
        str(start), None, "", f"no {PROJECT_FILE} here or in any parent folder",
        "run envctl from a project folder or pass --project DIR",
    )


def load_project(root: Path) -> Project:
    """Load and resolve a whole project, raising the first DefinitionError found."""
    project, errors = check_project(root)
    if errors:
        raise errors[0]
    return project


def check_project(root: Path) -> tuple[Project, list[DefinitionError]]:
    """Load a project, collecting every definition error instead of stopping at the first."""
    root = find_root(root)
    settings = validate(ProjectSettings, read_yaml(root / PROJECT_FILE), root / PROJECT_FILE)
    project = Project(root=root, settings=settings)
    errors: list[DefinitionError] = []
    raw_templates: dict[str, tuple[Path, Any]] = {}
    for path in sorted((root / "templates").glob("*.yaml")):
        try:
            raw = read_yaml(path)
            project.templates[path.stem] = validate(TemplateDefinition, raw, path)
            raw_templates[path.stem] = (path, raw)
        except DefinitionError as error:
            errors.append(error)
    for path in sorted((root / "environments").glob("*.yaml")):
        try:
            project.environments.append(_load_environment(path, settings, raw_templates))
        except DefinitionError as error:
            errors.append(error)
    errors.extend(_duplicates(project.environments))
    return project, errors


def _load_environment(
    path: Path, settings: ProjectSettings, templates: dict[str, tuple[Path, Any]]
) -> EnvironmentSpec:
    raw = read_yaml(path)
    merged = to_plain(raw)
    template = merged.get("template")
    if isinstance(template, str):
        if template not in templates:
            known = ", ".join(sorted(templates)) or "none"
            raise DefinitionError(str(path), line_of(raw, ("template",)), "template",
                                  f"no template named {template!r}",
                                  f"add templates/{template}.yaml or use one of: {known}")
        # Validate the merged result: a field may be complete only with the template's part,
        # such as image.pinned here and image.ssm_parameter in the template.
        merged = merge(to_plain(templates[template][1]), merged)
        merged.pop("description", None)
    definition = validate(EnvironmentDefinition, merged, path, raw)
    return resolve(definition, settings, path, raw)


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge an environment over its template: maps merge, scalars and lists replace."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def resolve(
    definition: EnvironmentDefinition, settings: ProjectSettings, path: Path, raw: Any
) -> EnvironmentSpec:
    """Fill defaults and check what needs the catalog: instance type, region and zone."""
    region = definition.region or settings.region
    zone = _zone(definition, region, path, raw)
    instance_type = _instance_type(definition, region, zone, path, raw)
    if definition.image is None:
        raise DefinitionError(str(path), None, "image", "missing required field",
                              "set image.ami, image.ssm_parameter or image.name here or in "
                              "the template")
    network = definition.network or NetworkSpec()
    ssh_cidrs = network.ssh_cidrs if network.ssh_cidrs is not None else settings.ssh.allowed_cidrs
    autostop = definition.autostop or AutostopSpec()
    return EnvironmentSpec(
        id=definition.id,
        name=definition.name,
        owner=definition.owner,
        template=definition.template,
        region=region,
        availability_zone=zone,
        instance_type=instance_type,
        image=definition.image,
        volume=definition.volume or VolumeSpec(),
        ssh_cidrs=tuple(ssh_cidrs),
        vpc_id=network.vpc_id,
        subnet_id=network.subnet_id,
        repos=tuple(definition.repos or ()),
        setup=definition.setup,
        autostop_minutes=autostop.idle_minutes,
        secrets=tuple(definition.secrets or ()),
        tags=dict(sorted(definition.tags.items())),
        source=path,
    )


def _zone(definition: EnvironmentDefinition, region: str, path: Path, raw: Any) -> str:
    zones = catalog.zones(region)
    if not zones:
        hint = catalog.nearest(region, catalog.regions())
        field = "region" if definition.region else "region (from envctl.yaml)"
        fix = f"did you mean {hint!r}?" if hint else "use an AWS region such as us-east-1"
        raise DefinitionError(str(path), line_of(raw, ("region",)), field,
                              f"unknown region {region!r}", fix)
    zone = definition.availability_zone or zones[0]
    if zone not in zones:
        raise DefinitionError(str(path), line_of(raw, ("availability_zone",)), "availability_zone",
                              f"{zone!r} is not a zone of {region}",
                              f"use one of: {', '.join(zones)}")
    return zone


def _instance_type(
    definition: EnvironmentDefinition, region: str, zone: str, path: Path, raw: Any
) -> str:
    if definition.instance is None:
        raise DefinitionError(str(path), None, "instance.type", "missing required field",
                              "set instance.type (such as t3.large) here or in the template")
    name = definition.instance.type
    line = line_of(raw, ("instance", "type"))
    known = catalog.instance_types()
    if name not in known:
        hint = catalog.nearest(name, set(known))
        fix = f"did you mean {hint!r}?" if hint else "see `aws ec2 describe-instance-types`"
        raise DefinitionError(str(path), line, "instance.type",
                              f"unknown instance type {name!r}", fix)
    if name not in catalog.zone_offerings(region).get(zone, frozenset()):
        offered = [z for z, types in catalog.zone_offerings(region).items() if name in types]
        fix = f"use a zone where it is: {', '.join(sorted(offered))}" if offered else (
            "pick another region or type")
        raise DefinitionError(str(path), line, "instance.type",
                              f"{name} is not offered in {zone}", fix)
    return name


def _duplicates(specs: list[EnvironmentSpec]) -> list[DefinitionError]:
    errors = []
    for key in ("name", "id"):
        seen: dict[str, Path] = {}
        for spec in specs:
            value = getattr(spec, key)
            if value in seen:
                errors.append(DefinitionError(
                    str(spec.source), None, key, f"{value!r} is also used by {seen[value]}",
                    f"give each environment a unique {key}"))
            seen[value] = spec.source
    return errors
