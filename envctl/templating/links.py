"""Share links: a whole template in one self-contained, versioned, checksummed URL.

A link reads envctl://template/v1/NAME/PAYLOAD.CHECKSUM, where PAYLOAD is the template file's
text, zlib-compressed and base64url-encoded without padding, and CHECKSUM is the first 16 hex
digits of the SHA-256 of "v1/NAME/" followed by the compressed bytes. Importing needs no network.

The checksum catches a link that was cut short or changed by accident. It is no signature:
anyone can build a valid link, so importing validates the template and the user should read
its setup script before applying it. Templates hold secret names only, never values, and the
user's personal settings live outside the project, so neither can travel in a link. Sharing
also rejects a template whose text contains a token in a known format, such as one pasted
into a setup script.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import zlib
from dataclasses import dataclass

from envctl.errors import EnvctlError
from envctl.review.redact import TOKEN_PATTERNS, URL_CREDENTIALS
from envctl.templating.catalog import check_name, parse_template

SCHEME = "envctl://template/"
VERSION = "v1"
CHECKSUM_DIGITS = 16
# The caps bound what an import reads and inflates. Shipped templates make links of 1.0 to
# 1.5 KB, and setup scripts must fit EC2's 16 KB user data limit, so real templates stay
# far below both caps.
MAX_LINK_CHARS = 32 * 1024
MAX_TEMPLATE_BYTES = 64 * 1024
LINK = re.compile(
    rf"^{re.escape(SCHEME)}(?P<version>v\d+)/(?P<name>[^/]*)/(?P<payload>[A-Za-z0-9_-]*)"
    rf"(?:\.(?P<checksum>[0-9a-f]*))?$"
)


class InvalidLink(EnvctlError):
    """A share link that cannot be imported: not a link, damaged, cut short or too large."""


class SecretInTemplate(EnvctlError):
    """A template whose text contains what looks like a secret value, so it is not shared."""


@dataclass(frozen=True)
class SharedTemplate:
    """A template as a link carries it: the name and the file's exact text."""

    name: str
    text: str


def share_link(name: str, text: str) -> str:
    """Encode a template file's text as a link.

    Raises InvalidLink when the text or the link is over its cap, and SecretInTemplate when
    the text contains a token.
    """
    check_name(name)
    parse_template(text, f"{name}.yaml")
    check_no_secret(name, text)
    data = text.encode("utf-8")
    if len(data) > MAX_TEMPLATE_BYTES:
        raise InvalidLink(f"template {name} is {len(data)} bytes, over the "
                          f"{MAX_TEMPLATE_BYTES}-byte limit for links; move long setup "
                          "scripts into a repository")
    body = zlib.compress(data, 9)
    payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
    link = f"{SCHEME}{VERSION}/{name}/{payload}.{_checksum(name, body)}"
    if len(link) > MAX_LINK_CHARS:
        raise InvalidLink(f"the link for template {name} would be {len(link)} characters, over "
                          f"the {MAX_LINK_CHARS}-character limit; shorten the template")
    return link


def read_link(link: str) -> SharedTemplate:
    """Decode and check a link; raise InvalidLink saying what is wrong with it."""
    # Terminals and chat clients wrap long links, so whitespace inside is dropped.
    link = "".join(link.split())
    if len(link) > MAX_LINK_CHARS:
        raise InvalidLink(f"the link is {len(link)} characters, over the {MAX_LINK_CHARS}-"
                          "character limit; ask for a smaller template")
    if not link.startswith(SCHEME):
        raise InvalidLink(f"{_shown(link)} is not an envctl template link; expected "
                          f"{SCHEME}{VERSION}/NAME/... as printed by `envctl template share`")
    match = LINK.match(link)
    if match is None:
        raise InvalidLink(f"{_shown(link)} is damaged: it has characters or parts that "
                          "`envctl template share` never writes; copy the whole link again")
    if match["version"] != VERSION:
        raise InvalidLink(f"the link has format {match['version']}, and this envctl reads "
                          f"only {VERSION}; upgrade envctl to import it")
    name = check_name(match["name"])
    if not match["checksum"] or len(match["checksum"]) != CHECKSUM_DIGITS:
        raise InvalidLink(f"the link for template {name} is cut short: its checksum is "
                          "missing or incomplete; copy the whole link again")
    body = _decoded(match["payload"], name)
    if not hmac.compare_digest(_checksum(name, body), match["checksum"]):
        raise InvalidLink(f"the link for template {name} does not match its checksum, so it "
                          "was changed or cut short; copy the whole link again")
    text = _inflated(body, name)
    parse_template(text, f"link:{name}.yaml")
    return SharedTemplate(name, text)


def check_no_secret(name: str, text: str) -> None:
    """Raise SecretInTemplate when a line contains a known token format or URL credentials.

    Only formats with a fixed prefix count (such as hf_, ghp_, AKIA, a private key header),
    so that a setup script's hashes and variable references pass. The message names the line
    and never repeats the value.
    """
    patterns = [*TOKEN_PATTERNS, URL_CREDENTIALS]
    for number, line in enumerate(text.splitlines(), start=1):
        if any(pattern.search(line) for pattern in patterns):
            raise SecretInTemplate(
                f"template {name} line {number} looks like it contains a secret value, and a "
                "link would carry it to everyone who sees it; move the value to Vault, list "
                "its name under secrets:, and share again")


def _checksum(name: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{VERSION}/{name}/".encode() + body).hexdigest()
    return digest[:CHECKSUM_DIGITS]


def _decoded(payload: str, name: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raise InvalidLink(f"the link for template {name} has a damaged payload; copy the "
                          "whole link again") from None


def _inflated(body: bytes, name: str) -> str:
    """Decompress at most MAX_TEMPLATE_BYTES, so a small link cannot expand without bound."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(body, MAX_TEMPLATE_BYTES + 1)
    except zlib.error:
        raise InvalidLink(f"the link for template {name} has a damaged payload; copy the "
                          "whole link again") from None
    if len(data) > MAX_TEMPLATE_BYTES:
        raise InvalidLink(f"the template in the link expands to over {MAX_TEMPLATE_BYTES} "
                          "bytes, the limit for links; it was not imported")
    if not inflater.eof or inflater.unused_data:
        raise InvalidLink(f"the link for template {name} is cut short or has extra data; copy "
                          "the whole link again")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidLink(f"the template in the link for {name} is not UTF-8 text") from None


def _shown(link: str) -> str:
    return repr(link if len(link) <= 60 else link[:57] + "...")
