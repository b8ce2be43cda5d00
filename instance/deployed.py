"""Read an instance's user data back: the personal layer that its owner's apply booted it with.

A plan by anyone but the owner lacks the owner's settings. It keeps the layer the box already
has, read from the user data in the state, so that the user data stays byte for byte the same
and the box is not replaced.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import re
import tarfile
from dataclasses import dataclass

from envctl.instance.payload import DOTFILES_LIST, PERSONAL_SETUP
from envctl.instance.personal import PersonalLayer

# The payload sits in a here-document between these lines (templates/user-data.sh.j2).
PAYLOAD = re.compile(r"<<'ENVCTL_END_OF_PAYLOAD'[^\n]*\n(.*?)\nENVCTL_END_OF_PAYLOAD\n", re.S)


@dataclass(frozen=True)
class DeployedLayer:
    """The owner's parts of a deployed environment: dotfiles and setup, and the SSH key."""

    personal: PersonalLayer | None
    public_key: str | None


def personal_layer_of(user_data_base64: str) -> PersonalLayer | None:
    """Return the personal layer in user data as the stack sends it (base64 of gzip), or None
    when it has none or is not envctl's boot script."""
    files = _payload_files(user_data_base64)
    listed = files.get(DOTFILES_LIST, b"").split(b"\0")
    setup = files.get(PERSONAL_SETUP)
    if len(listed) < 2 and setup is None:
        return None
    return PersonalLayer(
        dotfiles_url=listed[0].decode() if len(listed) >= 2 else None,
        dotfiles_ref=listed[1].decode() if len(listed) >= 2 else "HEAD",
        setup=setup.decode() if setup is not None else None,
    )


def _payload_files(user_data_base64: str) -> dict[str, bytes]:
    """Return the payload's files by name, or none when the user data is not envctl's."""
    try:
        script = gzip.decompress(base64.b64decode(user_data_base64)).decode()
        found = PAYLOAD.search(script)
        if found is None:
            return {}
        archive = io.BytesIO(base64.b64decode(found.group(1)))
        with tarfile.open(fileobj=archive, mode="r:gz") as payload:
            return {member.name: _read(payload, member) for member in payload.getmembers()
                    if member.name in (DOTFILES_LIST, PERSONAL_SETUP) and member.isfile()}
    except (binascii.Error, OSError, EOFError, UnicodeDecodeError, tarfile.TarError):
        return {}


def _read(payload: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = payload.extractfile(member)
    return stream.read() if stream is not None else b""
