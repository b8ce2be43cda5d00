"""Share links: round trips, and clean errors for damaged, cut, oversized or foreign links."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest

from envctl.errors import DefinitionError
from envctl.templating.catalog import shipped_templates
from envctl.templating.links import (
    MAX_LINK_CHARS,
    MAX_TEMPLATE_BYTES,
    InvalidLink,
    SecretInTemplate,
    read_link,
    share_link,
)

TEMPLATE = """\
# A small template, with a comment that travels too.
description: CPU box for tests
instance:
  type: t3.large
image:
  ami: ami-0123456789abcdef0
secrets:
  - name: HF_TOKEN
    scope: template
"""


def forged_link(name: str, data: bytes, version: str = "v1") -> str:
    """Build a link the way share_link does, around any bytes, with a valid checksum."""
    body = zlib.compress(data, 9)
    payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
    checksum = hashlib.sha256(f"{version}/{name}/".encode() + body).hexdigest()[:16]
    return f"envctl://template/{version}/{name}/{payload}.{checksum}"


def test_round_trip_keeps_text_exactly():
    link = share_link("cpu-box", TEMPLATE)

    shared = read_link(link)

    assert shared.name == "cpu-box"
    assert shared.text == TEMPLATE


def test_link_format_is_versioned():
    link = share_link("cpu-box", TEMPLATE)

    assert link.startswith("envctl://template/v1/cpu-box/")
    assert len(link.rsplit(".", 1)[1]) == 16


@pytest.mark.parametrize("name", sorted(shipped_templates()))
def test_every_shipped_template_round_trips(name):
    text = shipped_templates()[name].text

    assert read_link(share_link(name, text)).text == text


def test_wrapped_link_still_reads():
    link = share_link("cpu-box", TEMPLATE)
    wrapped = "\n  ".join(link[i:i + 40] for i in range(0, len(link), 40)) + "\n"

    assert read_link(wrapped).text == TEMPLATE


def test_tampered_payload_rejected():
    link = share_link("cpu-box", TEMPLATE)
    head, tail = link.rsplit(".", 1)
    position = len("envctl://template/v1/cpu-box/") + 10
    changed = "A" if head[position] != "A" else "B"
    tampered = head[:position] + changed + head[position + 1:] + "." + tail

    with pytest.raises(InvalidLink, match="does not match its checksum"):
        read_link(tampered)


def test_tampered_name_rejected():
    link = share_link("cpu-box", TEMPLATE).replace("/cpu-box/", "/gpu-box/")

    with pytest.raises(InvalidLink, match="does not match its checksum"):
        read_link(link)


def test_tampered_checksum_rejected():
    link = share_link("cpu-box", TEMPLATE)
    last = link[-1]
    tampered = link[:-1] + ("0" if last != "0" else "1")

    with pytest.raises(InvalidLink, match="does not match its checksum"):
        read_link(tampered)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, 0.999])
def test_truncated_link_rejected(keep):
    link = share_link("cpu-box", TEMPLATE)
    cut = link[:int(len(link) * keep)]

    with pytest.raises((InvalidLink, DefinitionError)) as raised:
        read_link(cut)

    assert str(raised.value)
    assert "\n" not in str(raised.value)


def test_link_cut_inside_checksum_says_cut_short():
    link = share_link("cpu-box", TEMPLATE)

    with pytest.raises(InvalidLink, match="cut short"):
        read_link(link[:-3])


def test_link_cut_before_checksum_says_cut_short():
    link = share_link("cpu-box", TEMPLATE)

    with pytest.raises(InvalidLink, match="cut short"):
        read_link(link.rsplit(".", 1)[0])


def test_oversized_link_rejected_before_decoding():
    link = "envctl://template/v1/big/" + "A" * MAX_LINK_CHARS + ".0123456789abcdef"

    with pytest.raises(InvalidLink, match="over the"):
        read_link(link)


def test_link_that_inflates_too_far_rejected():
    # About 1 KB of link that would expand to 1 MB: decompression stops at the cap.
    link = forged_link("bomb", b"#" * (16 * MAX_TEMPLATE_BYTES))

    assert len(link) < MAX_LINK_CHARS
    with pytest.raises(InvalidLink, match="expands to over"):
        read_link(link)


def test_sharing_oversized_template_rejected():
    text = TEMPLATE + "setup: |\n" + "".join(
        f"  echo {hashlib.sha256(str(i).encode()).hexdigest()}\n" for i in range(1000))

    with pytest.raises(InvalidLink, match="over the"):
        share_link("cpu-box", text)


def test_newer_version_rejected():
    link = forged_link("cpu-box", TEMPLATE.encode(), version="v2")

    with pytest.raises(InvalidLink, match="upgrade envctl"):
        read_link(link)


@pytest.mark.parametrize("text", ["https://example.com/template", "", "envctl://other/v1/x"])
def test_foreign_text_rejected(text):
    with pytest.raises(InvalidLink, match="not an envctl template link"):
        read_link(text)


def test_invalid_characters_rejected():
    link = share_link("cpu-box", TEMPLATE)
    position = len("envctl://template/v1/cpu-box/") + 5

    with pytest.raises(InvalidLink, match="damaged"):
        read_link(link[:position] + "!" + link[position + 1:])


def test_invalid_template_in_valid_link_names_line():
    text = TEMPLATE.replace("  type: t3.large", "  type: t3.large\n  size: huge")

    with pytest.raises(DefinitionError) as raised:
        read_link(forged_link("cpu-box", text.encode()))

    assert raised.value.path == "link:cpu-box.yaml"
    assert raised.value.line == 5
    assert raised.value.field == "instance.size"


def test_non_utf8_template_rejected():
    with pytest.raises(InvalidLink, match="not UTF-8"):
        read_link(forged_link("cpu-box", b"description: \xff\xfe\n"))


def test_invalid_template_not_shared():
    with pytest.raises(DefinitionError):
        share_link("cpu-box", "instance:\n  type: t3.large\n  size: huge\n")


@pytest.mark.parametrize("line", [
    "  export HF_TOKEN=hf_" + "a1B2c3D4" * 5,
    "  git clone https://alice:s3cretpass@github.com/alice/private",
    "  echo -----BEGIN OPENSSH PRIVATE KEY----- > key",
])
def test_template_with_secret_value_not_shared(line):
    text = TEMPLATE + "setup: |\n  set -e\n" + line + "\n"

    with pytest.raises(SecretInTemplate) as raised:
        share_link("cpu-box", text)

    message = str(raised.value)
    assert "template cpu-box line 12 looks like it contains a secret value" in message
    assert "list its name under secrets:" in message
    assert line.split()[-1] not in message
    assert "s3cretpass" not in message


def test_secret_reference_still_shared():
    text = TEMPLATE + 'setup: |\n  huggingface-cli login --token "$HF_TOKEN"\n'

    assert read_link(share_link("cpu-box", text)).text == text
