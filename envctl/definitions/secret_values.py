"""Definition checks about secrets: no values in the files, and names that resolve.

Definition files live in git and their text reaches Terraform, plans, state and user data, so
a token pasted into a setup script would leak everywhere. Values belong in Vault, and files
list secret names only. The patterns are the well-known prefixes of common credentials; a
value that matches none of them, such as a bare random password, is not caught.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from envctl.definitions.models import EnvironmentDefinition
from envctl.definitions.yamlfile import line_of
from envctl.errors import DefinitionError

# The env file the box's fetcher writes, relative to the home; a secret's file may not be it.
ENV_FILE = ".envctl/secrets.env"

# (what it looks like, pattern). Group "prefix" is the part safe to print, never the
# secret part.
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("an AWS access key id", re.compile(r"\b(?P<prefix>AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\b(?P<prefix>gh[pousr]_)[A-Za-z0-9]{36,}\b")),
    ("a GitHub token", re.compile(r"\b(?P<prefix>github_pat_)[A-Za-z0-9_]{22,}")),
    ("a Hugging Face token", re.compile(r"\b(?P<prefix>hf_)[A-Za-z0-9]{30,}\b")),
    ("a Slack token", re.compile(r"\b(?P<prefix>xox[abposr]-)[A-Za-z0-9-]{10,}")),
    ("an OpenAI or Anthropic API key",
     re.compile(r"\b(?P<prefix>sk-)(?:proj-|ant-)?[A-Za-z0-9_-]{20,}")),
    ("a Google API key", re.compile(r"\b(?P<prefix>AIza)[0-9A-Za-z_-]{35}")),
    ("a Vault token", re.compile(r"\b(?P<prefix>hv[sbr]\.)[A-Za-z0-9_-]{24,}")),
    ("a private key", re.compile(r"(?P<prefix>-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)")),
    # user:password@ in a URL. A password that starts with $ is a variable reference, which is
    # how a setup script should use a secret from the env file.
    ("a URL with a password",
     re.compile(r"(?P<prefix>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/:@$'\"]+:[^\s/@$'\"][^\s/@]*@")),
]


def check_secret_values(path: Path, raw: Any) -> None:
    """Raise a DefinitionError at the first string in raw, or comment, that looks like a secret.

    raw is the parsed YAML of path, with line numbers; comments are read from the file's text.
    """
    lines = _read_lines(path)
    for loc, value in _strings(raw, ()):
        for kind, pattern in PATTERNS:
            match = pattern.search(value)
            if match:
                line = _line_with(lines, match.group(0), line_of(raw, loc))
                raise _leak(path, line, ".".join(str(part) for part in loc), kind, match)
    for number, text in enumerate(lines, start=1):
        comment = text.partition("#")[2] if "#" in text else ""
        for kind, pattern in PATTERNS:
            match = pattern.search(comment)
            if match:
                raise _leak(path, number, "comment", kind, match)


def _strings(node: Any, loc: tuple[int | str, ...]) -> Iterator[tuple[tuple[int | str, ...], str]]:
    """Yield every string in a parsed YAML tree, keys included, with the path of keys to it."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                yield (*loc, key), key
            yield from _strings(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*loc, index))
    elif isinstance(node, str):
        yield loc, node


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def _line_with(lines: list[str], text: str, start: int | None) -> int | None:
    """Return the first line at or after start that contains text. A match in a block scalar is
    on a line below its key."""
    first = start or 1
    needle = text.splitlines()[0] if text else text
    for number in range(first, len(lines) + 1):
        if needle in lines[number - 1]:
            return number
    return start


def _leak(path: Path, line: int | None, field: str, kind: str,
          match: re.Match[str]) -> DefinitionError:
    prefix = match.group("prefix")
    return DefinitionError(
        str(path), line, field, f"contains what looks like {kind} ({prefix}...)",
        "secret values never go in definition files: store it with `envctl secrets set NAME "
        "--scope user|env:ENV|template:T` and list the name under secrets:")


def check_secret_refs(definition: EnvironmentDefinition, path: Path, raw: Any) -> None:
    """Raise a DefinitionError for a secret the box could not receive: template scope without
    a template, or two secrets with one name or one file."""
    names: set[str] = set()
    files = {ENV_FILE}
    for index, ref in enumerate(definition.secrets or ()):
        loc = ("secrets", index)
        if ref.scope == "template" and definition.template is None:
            raise DefinitionError(str(path), line_of(raw, (*loc, "scope")), f"secrets.{index}",
                                  f"{ref.name} has scope template, but the environment "
                                  "extends no template", "set template: or use scope user "
                                  "or environment")
        if ref.name in names:
            raise DefinitionError(str(path), line_of(raw, (*loc, "name")), f"secrets.{index}",
                                  f"{ref.name} is listed twice; each name becomes one "
                                  "variable on the box", "keep one entry")
        if ref.file is not None and ref.file in files:
            raise DefinitionError(str(path), line_of(raw, (*loc, "file")),
                                  f"secrets.{index}.file",
                                  f"{ref.file} is already written by another secret or is "
                                  "the env file", "give each secret its own file")
        names.add(ref.name)
        files.add(ref.file or ENV_FILE)
