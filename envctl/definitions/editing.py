"""Edits to environment files that keep the user's comments and layout (ruamel round-trip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq


def set_field(path: Path, keys: tuple[str, ...], value: Any) -> None:
    """Set a nested key in a YAML file, creating the mappings on the way, keeping comments."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    # Block lists indented under their key ("repos:" then "  - url: ..."), as envctl's
    # examples and `envctl create` write them; ruamel would otherwise move them left.
    yaml.indent(mapping=2, sequence=4, offset=2)
    data = yaml.load(path.read_text(encoding="utf-8"))
    node = data
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = CommentedMap()
        node = node[key]
    old = node.get(keys[-1])
    if old != value:
        _drop_line_comment(node, keys[-1])
    node[keys[-1]] = _in_style_of(old, value)
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)


def _in_style_of(old: Any, value: Any) -> Any:
    """Return VALUE in the style of the list it replaces, so that [a, b] stays on one line."""
    if isinstance(old, CommentedSeq) and isinstance(value, list) and old.fa.flow_style():
        value = CommentedSeq(value)
        value.fa.set_flow_style()
    return value


def _drop_line_comment(node: CommentedMap, key: Any) -> None:
    """Drop the comment at the end of KEY's line, which described the value being replaced.

    ruamel keeps that comment and any full-line comments below it in one token; those lines
    belong to what follows, so they stay.
    """
    entry = node.ca.items.get(key)
    token = entry[2] if entry and len(entry) > 2 else None
    if token is None or not token.value.lstrip(" \t").startswith("#"):
        return
    _, newline, rest = token.value.partition("\n")
    if rest:
        token.value = newline + rest  # blank lines and comment lines below stay
    else:
        entry[2] = None
