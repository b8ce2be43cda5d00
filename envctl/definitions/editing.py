"""Edits to environment files that keep the user's comments and layout (ruamel round-trip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap


def set_field(path: Path, keys: tuple[str, ...], value: Any) -> None:
    """Set a nested key in a YAML file, creating the mappings on the way, keeping comments."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    data = yaml.load(path.read_text(encoding="utf-8"))
    node = data
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = CommentedMap()
        node = node[key]
    node[keys[-1]] = value
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
