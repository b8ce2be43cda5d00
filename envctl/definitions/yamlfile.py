"""Reading YAML with line numbers, and turning pydantic errors into one-line DefinitionErrors."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from envctl.errors import DefinitionError

Model = TypeVar("Model", bound=BaseModel)


def read_yaml(path: Path) -> CommentedMap:
    """Parse a YAML mapping, keeping the line of every key for error messages."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DefinitionError(
            str(path), None, "", f"cannot read file ({error.strerror})"
        ) from None
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        raise DefinitionError(
            str(path), line, "", f"invalid YAML: {error.problem}", "fix the syntax"
        ) from None
    if data is None:
        return CommentedMap()
    if not isinstance(data, CommentedMap):
        raise DefinitionError(str(path), 1, "", "expected a mapping of keys to values")
    return data


def to_plain(node: Any) -> Any:
    """Convert ruamel containers to plain dicts and lists."""
    if isinstance(node, dict):
        return {str(key): to_plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [to_plain(value) for value in node]
    return node


def line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """Find the 1-based line of the deepest part of loc that exists in the parsed YAML."""
    line = None
    node = data
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
        else:
            break
        node = node[part]
    return line


def validate(model: type[Model], data: Any, path: Path, raw: Any = None) -> Model:
    """Validate data against model; raise the first problem as a DefinitionError with its line."""
    try:
        return model.model_validate(to_plain(data))
    except ValidationError as error:
        raise _definition_error(model, error, path, raw if raw is not None else data) from None


def _definition_error(
    model: type[BaseModel], error: ValidationError, path: Path, raw: Any
) -> DefinitionError:
    first = error.errors()[0]
    loc = tuple(first["loc"])
    field = ".".join(str(part) for part in loc)
    line = line_of(raw, loc)
    kind = first["type"]
    if kind == "extra_forbidden":
        return DefinitionError(str(path), line, field, "unknown key", _near_key(model, loc))
    if kind == "missing":
        return DefinitionError(str(path), line, field, "missing required field", f"add {field}")
    message = first["msg"].removeprefix("Value error, ")
    fix = ""
    if kind not in ("value_error", "assertion_error"):
        fix = f"got {first.get('input')!r}"
    return DefinitionError(str(path), line, field, message, fix)


def _near_key(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """Suggest the field name closest to an unknown key, looked up in the model it belongs to."""
    owner: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or owner is None:
            continue
        owner = _field_model(owner, str(part))
    if owner is None:
        return "remove it"
    known = list(owner.model_fields)
    match = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5)
    if match:
        return f"did you mean {match[0]!r}?"
    return f"remove it; known keys: {', '.join(known)}"


def _field_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    field = model.model_fields.get(name)
    if field is None:
        return None
    candidates = [field.annotation, *getattr(field.annotation, "__args__", ())]
    for candidate in candidates:
        for inner in (candidate, *getattr(candidate, "__args__", ())):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None
