"""Helpers for the secrets tests: a copy of the examples with secrets in every scope, the
fetcher run as the box would run it, and a Vault client for the sandbox's OpenBao."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from e2e_support import copy_examples

from envctl.definitions.editing import set_field
from envctl.secrets.handoff import fetcher_source

# What each test environment names. whisper (bob) and sd-dreambooth (alice) both extend
# gpu-pytorch, so they share its template scope and nothing else.
WHISPER_SECRETS = [
    {"name": "HF_TOKEN", "scope": "template"},
    {"name": "WANDB_API_KEY", "scope": "user"},
    {"name": "AWS_CREDENTIALS", "scope": "user", "file": ".aws/credentials"},
    {"name": "DATASET_TOKEN", "scope": "environment"},
]
DREAMBOOTH_SECRETS = [
    {"name": "HF_TOKEN", "scope": "template"},
    {"name": "WANDB_API_KEY", "scope": "user"},
    {"name": "DATASET_TOKEN", "scope": "environment"},
]


def secrets_project(target: Path) -> Path:
    """Copy the examples with a KV mount of their own, so tests never share secret values, and
    give whisper and sd-dreambooth a secret in every scope."""
    root = copy_examples(target)
    settings = root / "envctl.yaml"
    mount = f"envctl-test-{uuid.uuid4().hex[:8]}"
    settings.write_text(settings.read_text().replace("mount: envctl", f"mount: {mount}"))
    set_field(root / "environments" / "whisper.yaml", ("secrets",), WHISPER_SECRETS)
    set_field(root / "environments" / "sd-dreambooth.yaml", ("secrets",), DREAMBOOTH_SECRETS)
    return root


def canary(label: str) -> str:
    """A unique value that can only appear where a secret value leaked."""
    return f"canary-{label}-{uuid.uuid4().hex}"


def run_fetcher(folder: Path, handoff: dict[str, Any] | None, home: Path, *extra: str,
                python: str = sys.executable,
                source: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run the fetcher exactly as shipped, or source (the fetcher as a box unpacked it), with
    the handoff the box would receive.

    handoff None leaves the handoff file as it is (for example, absent). The environment is
    minimal, as on a box at boot: no Vault token, no proxy for the loopback sandbox.
    """
    fetcher = folder / "fetch.py"
    fetcher.write_bytes(fetcher_source() if source is None else source)
    handoff_file = folder / "secrets-handoff.json"
    if handoff is not None:
        handoff_file.write_text(json.dumps(handoff))
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(home), "NO_PROXY": "127.0.0.1",
                   "no_proxy": "127.0.0.1"}
    command = [python, str(fetcher), str(handoff_file), f"--home={home}", *extra]
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120,
                          check=False)


def parse_env_file(path: Path) -> dict[str, str]:
    """Read the fetcher's NAME='value' lines the way a shell does: source the file with sh."""
    names = re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", path.read_text(), flags=re.MULTILINE)
    values = []
    for name in names:
        printed = subprocess.run(["sh", "-c", f'set -a; . "$1"; printenv -- {name}', "sh",
                                str(path)], capture_output=True, text=True, check=True,
                               env={"PATH": "/usr/bin:/bin"}).stdout
        values.append(printed.removesuffix("\n"))
    return dict(zip(names, values, strict=True))


# A run of base64 text of 64 characters or more, possibly wrapped over lines. The user data is
# one, as EC2 returns it and as the state and plan JSON contain it (Terraform's base64gzip of
# the boot script), and so is the payload inside that script. The minimum is low so that a
# small payload or an encoded secret value is decoded too.
BASE64_RUN = re.compile(rb"(?:[A-Za-z0-9+/]{4}\n?){16,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
# User data in the state is six layers down: base64, gzip, the script, the payload's base64,
# gzip, tar.
MAX_DEPTH = 8


def expand(data: bytes, depth: int = 0) -> Iterator[tuple[str, bytes]]:
    """Yield data and every layer packed inside it: zip members (saved plans), gzip and tar
    (the user data and its payload), base64 runs (the user data as EC2 returns it and as the
    state contains it, and the payload inside the script), and JSON string escapes. Each comes
    with the chain of layers that led to it, such as "base64/gzip/base64/gzip/tar:NAME"."""
    yield "", data
    if depth >= MAX_DEPTH:
        return
    try:
        layers = _unpacked(data)
    except (zipfile.BadZipFile, zlib.error, tarfile.TarError, EOFError):
        # A base64 run that only looked like a packed file; its text was searched as it is.
        return
    for label, inner in layers:
        for path, content in expand(inner, depth + 1):
            yield f"{label}/{path}".rstrip("/"), content


def _unpacked(data: bytes) -> list[tuple[str, bytes]]:
    layers: list[tuple[str, bytes]] = []
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            layers += [(f"zip:{name}", archive.read(name)) for name in archive.namelist()]
    elif data.startswith(b"\x1f\x8b"):
        layers.append(("gzip", zlib.decompressobj(wbits=31).decompress(data)))
    elif data[257:262] == b"ustar":
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                extracted = archive.extractfile(member)
                if extracted is not None:
                    layers.append((f"tar:{member.name}", extracted.read()))
    else:
        unescaped = data.replace(b"\\n", b"\n").replace(b"\\/", b"/")
        for match in BASE64_RUN.finditer(unescaped):
            try:
                decoded = base64.b64decode(match.group(0).replace(b"\n", b""), validate=True)
            except ValueError:
                continue
            layers.append(("base64", decoded))
    return layers


def packed_file(data: bytes, name: str) -> bytes | None:
    """Return the file name from the first tar archive inside data's layers, or None."""
    for layer, content in expand(data):
        if layer.endswith(f"tar:{name}"):
            return content
    return None


def find_canaries(canaries: list[str], sources: dict[str, bytes]) -> list[str]:
    """Name every place, through every layer, where a canary value appears."""
    hits = []
    for source, data in sources.items():
        for layer, content in expand(data):
            for value in canaries:
                if value.encode() in content:
                    hits.append(f"{source} {layer} contains {value}")
    return hits


def files_under(root: Path) -> dict[str, bytes]:
    """Every regular file under root, without following links (provider plugins are links
    into the shared cache, outside the project)."""
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                found[str(path)] = path.read_bytes()
    return found
