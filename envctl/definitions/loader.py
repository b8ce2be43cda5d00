"""Load an envctl project: envctl.yaml, templates/ and environments/, resolved into specs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from envctl.definitions import catalog
from envctl.definitions.models import (
    AutostopSpec,
    EnvironmentDefinition,
    NetworkSpec,
    TemplateDefinition,
    VolumeSpec,
)
from envctl.definitions.project import ProjectSettings
from envctl.definitions.secret_values import check_secret_refs, check_secret_values
from envctl.definitions.spec import EnvironmentSpec
from envctl.definitions.yamlfile import line_of, read_yaml, to_plain, validate
from envctl.errors import DefinitionError

PROJECT_FILE = "envctl.yaml"
# A key ending in this suffix, such as `repos+:`, appends its list to the template's list.
APPEND_SUFFIX = "+"


@dataclass
class Project:
    """A loaded project: its settings and every environment, resolved."""

    root: Path
    settings: ProjectSettings
    templates: dict[str, TemplateDefinition] = field(default_factory=dict)
    environments: list[EnvironmentSpec] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        """The local backend's folder of state files on real AWS, one per environment."""
        return self.root / ".envctl" / "state"

    @property
    def sandbox_state_dir(self) -> Path:
        """The same for the sandbox, kept apart so that its made-up ids never meet real AWS."""
        return self.root / ".envctl" / "sandbox" / "state"

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
    raw_settings = read_yaml(root / PROJECT_FILE)
    check_secret_values(root / PROJECT_FILE, raw_settings)
    settings = validate(ProjectSettings, raw_settings, root / PROJECT_FILE)
    project = Project(root=root, settings=settings)
    errors: list[DefinitionError] = []
    raw_templates: dict[str, tuple[Path, Any] | None] = {}
    for path in sorted((root / "templates").glob("*.yaml")):
        try:
            raw_templates[path.stem] = None
            raw = read_yaml(path)
            check_secret_values(path, raw)
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
    path: Path, settings: ProjectSettings, templates: dict[str, tuple[Path, Any] | None]
) -> EnvironmentSpec:
    """Load one environment file on top of its template. TEMPLATES maps each template's name
    to its file and YAML, or to None when that file is invalid."""
    raw = read_yaml(path)
    check_secret_values(path, raw)
    merged = to_plain(raw)
    template = merged.get("template")
    base: dict[str, Any] = {}
    if isinstance(template, str):
        if template not in templates:
            known = ", ".join(sorted(templates)) or "none"
            raise DefinitionError(str(path), line_of(raw, ("template",)), "template",
                                  f"no template named {template!r}",
                                  f"add templates/{template}.yaml or use one of: {known}")
        found = templates[template]
        if found is None:
            raise DefinitionError(str(path), line_of(raw, ("template",)), "template",
                                  f"template {template!r} is invalid",
                                  f"fix the error in templates/{template}.yaml first")
        base = to_plain(found[1])

    # Validate the merged result: a field may be complete only with the template's part,
    # such as image.pinned here and image.ssm_parameter in the template. Merging runs without
    # a template too, because it also turns `key+:` lists into plain keys.
    merged = _merged(base, merged, path, raw)
    if isinstance(template, str):
        merged.pop("description", None)
        own = to_plain(raw)
        if isinstance(own.get("instance"), dict):
            # type and types are alternatives, so the environment's choice replaces the
            # template's instead of merging with it into both.
            merged["instance"] = own["instance"]
    definition = validate(EnvironmentDefinition, merged, path, append_lines(raw, merged))
    check_secret_refs(definition, path, raw)
    return resolve(definition, settings, path, raw)


def _merged(base: dict[str, Any], written: dict[str, Any], path: Path,
            raw: Any) -> dict[str, Any]:
    try:
        return merge(base, written)
    except MergeError as error:
        raise DefinitionError(str(path), line_of(raw, error.keys), ".".join(error.keys),
                              error.problem, error.fix) from None


class MergeError(ValueError):
    """An append marker that cannot apply; keys is the path to the marked key."""

    def __init__(self, keys: tuple[str, ...], problem: str, fix: str) -> None:
        super().__init__(f"{'.'.join(keys)}: {problem}")
        self.keys = keys
        self.problem = problem
        self.fix = fix


def merge(base: dict[str, Any], override: dict[str, Any],
          keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """Merge an environment over its template.

    Maps merge key by key, and scalars and lists replace. A list written under the key name
    plus APPEND_SUFFIX (`repos+:`) appends to the template's list instead. Raises MergeError
    when a marked value is not a list, the template's value is not a list, or the same map
    sets both `key` and `key+`.
    """
    result = dict(base)
    for key, value in override.items():
        if key.endswith(APPEND_SUFFIX):
            result[key[:-1]] = _appended(result.get(key[:-1]), value, (*keys, key), override)
        elif isinstance(value, dict):
            inner = result.get(key)
            result[key] = merge(inner if isinstance(inner, dict) else {}, value, (*keys, key))
        else:
            result[key] = value
    return result


def _appended(base: Any, value: Any, keys: tuple[str, ...], override: dict[str, Any]) -> Any:
    name = keys[-1][:-1]
    if name in override:
        raise MergeError(keys, f"both {name} and {name}{APPEND_SUFFIX} are set",
                         f"keep {name} to replace the template's list, or "
                         f"{name}{APPEND_SUFFIX} to add to it")
    if not isinstance(value, list):
        raise MergeError(keys, f"{name}{APPEND_SUFFIX} needs a list to append",
                         f"write the items as a YAML list, or use {name} to replace the value")
    if base is None:
        return list(value)
    if not isinstance(base, list):
        raise MergeError(keys, f"the template's {name} is not a list, so nothing can be "
                         "appended to it", f"use {name} to replace it")
    return [*base, *value]


def append_lines(raw: Any, merged: Any) -> Any:
    """Return raw with every `key+` renamed to key and its items moved past the template's.

    Errors in the merged result then point at the environment's own lines. The template's
    items take the line of the `key+` key, since they have none in this file.
    """
    if not isinstance(raw, CommentedMap) or not isinstance(merged, dict):
        return raw
    view = CommentedMap()
    for key, value in raw.items():
        line = raw.lc.data[key] if raw.lc.data and key in raw.lc.data else None
        name = key[:-1] if isinstance(key, str) and key.endswith(APPEND_SUFFIX) else key
        if name != key and isinstance(value, CommentedSeq) and line is not None:
            value = _shifted(value, len(merged.get(name) or ()) - len(value), line)
        else:
            value = append_lines(value, merged.get(name))
        view[name] = value
        if line is not None:
            view.lc.add_kv_line_col(name, line)
    return view


def _shifted(items: CommentedSeq, offset: int, key_line: list[int]) -> CommentedSeq:
    shifted = CommentedSeq([None] * offset + list(items))
    for index in range(offset):
        shifted.lc.add_idx_line_col(index, key_line[:2])
    for index in range(len(items)):
        shifted.lc.add_idx_line_col(offset + index, items.lc.data[index])
    return shifted


def resolve(
    definition: EnvironmentDefinition, settings: ProjectSettings, path: Path, raw: Any
) -> EnvironmentSpec:
    """Fill defaults and check what needs the catalog: instance type, region and zone."""
    region = definition.region or settings.region
    zone = _zone(definition, region, path, raw)
    instance_types = _instance_types(definition, region, zone, path, raw)
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
        instance_type=instance_types[0],
        instance_types=instance_types,
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
        backup=definition.backup,
        autostop=autostop,
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


def _instance_types(
    definition: EnvironmentDefinition, region: str, zone: str, path: Path, raw: Any
) -> tuple[str, ...]:
    """Check every type the definition allows; return them in order of preference."""
    if definition.instance is None:
        raise DefinitionError(str(path), None, "instance.type", "missing required field",
                              "set instance.type (such as t3.large) here or in the template")
    if definition.instance.types is None:
        line = line_of(raw, ("instance", "type"))
        return (_instance_type(definition.instance.preferences[0], "instance.type", line,
                               region, zone, path),)
    return tuple(
        _instance_type(name, f"instance.types[{index}]",
                       line_of(raw, ("instance", "types", index)), region, zone, path)
        for index, name in enumerate(definition.instance.types)
    )


def _instance_type(
    name: str, field: str, line: int | None, region: str, zone: str, path: Path
) -> str:
    known = catalog.instance_types()
    if name not in known:
        hint = catalog.nearest(name, set(known))
        fix = f"did you mean {hint!r}?" if hint else "see `aws ec2 describe-instance-types`"
        raise DefinitionError(str(path), line, field, f"unknown instance type {name!r}", fix)
    if name not in catalog.zone_offerings(region).get(zone, frozenset()):
        offered = [z for z, types in catalog.zone_offerings(region).items() if name in types]
        fix = f"use a zone where it is: {', '.join(sorted(offered))}" if offered else (
            "pick another region or type")
        raise DefinitionError(str(path), line, field, f"{name} is not offered in {zone}", fix)
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
