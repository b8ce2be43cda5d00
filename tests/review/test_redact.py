"""Redaction: what looks like a secret becomes [REDACTED]; ids, hashes and addresses stay."""

from __future__ import annotations

import pytest

from envctl.planning.run import save_plan_files
from envctl.review.redact import REDACTED, redact, redact_data

# Built from parts, so this file contains no complete token.
LEAKS = [
    ("AWS key id", "key " + "AKIA" + "IOSFODNN7EXAMPL1", "AKIA"),
    ("AWS secret key", "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY", "wJalr"),
    ("GitHub token", "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "ghp_"),
    ("Hugging Face token", "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567", "hf_a"),
    ("Slack token", "xoxb-" + "1234567890-abcdefghij", "xoxb"),
    ("Vault token", "hvs." + "CAESIJ3xk2pQ9x7R8s1t2u3v4w5", "hvs."),
    ("JWT", "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop", "eyJ"),
    ("URL password", "https://bob:" + "hunter22@example.com/repo", "hunter22"),
    ("assignment", "export DATASET_" + "TOKEN=canary-plain-7d1f", "canary-plain"),
    ("yaml password", "db_password: " + "correct-horse", "correct-horse"),
    ("private key", "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
     "MIIEow"),
]


@pytest.mark.parametrize("case,text,leaked", LEAKS, ids=[row[0] for row in LEAKS])
def test_secret_is_redacted(case, text, leaked):
    result = redact(text)

    assert leaked not in result
    assert REDACTED in result


KEPT = [
    "env-aee924a3",
    "ami-0123456789abcdef0",
    "module.idle_stop_alarm.aws_cloudwatch_metric_alarm.idle",
    "0123456789abcdef0123456789abcdef01234567",  # a commit id
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # a sha256
    "Starts requesting secrets `HF_TOKEN` (template scope).",
    "tag cost-center is missing or empty on aws_instance.instance",
    "plans/sd-dreambooth.plan.txt",
]


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_text_is_kept(text):
    assert redact(text) == text


def test_redaction_is_idempotent():
    once = redact("token=" + "abcd1234efgh")

    assert redact(once) == once


def test_redact_data_walks_nested_values():
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"

    data = redact_data({"a": [token, {"b": f"x {token}"}], "n": 3, "none": None})

    assert data == {"a": [REDACTED, {"b": f"x {REDACTED}"}], "n": 3, "none": None}


def test_saved_plan_text_is_redacted(tmp_path):
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    text = f'      + tags = {{\n          + "note" = "{token}"\n        }}\n'

    save_plan_files(tmp_path / "sd-box.tfplan", {"resource_changes": []}, text)

    saved = (tmp_path / "sd-box.plan.txt").read_text()
    assert token not in saved
    assert f'"note" = "{REDACTED}"' in saved
