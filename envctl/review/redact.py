"""Redaction of text that looks like a secret, before it reaches a pull-request comment.

The summary only carries names, addresses, actions and messages envctl writes, never tag
values or setup scripts. Redaction is the second line of defence, for the day a careless
value reaches one of those strings: a token pasted as a secret name, or a plan message that
quotes an argument.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[REDACTED]"

# Token formats with a fixed prefix, from the issuers' documentation of their formats.
TOKEN_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
               re.DOTALL),
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"),  # AWS key ids
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),  # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}\b"),
    re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),  # Hugging Face
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),  # Slack
    re.compile(r"\bsk-[A-Za-z0-9_-]{20,}\b"),  # OpenAI and similar API keys
    re.compile(r"\bhv[sbr]\.[A-Za-z0-9_-]{20,}\b"),  # Vault tokens
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"),  # JWTs
]

# user:password@ inside a URL.
URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)")

# An assignment whose name marks a secret: TOKEN=..., password: ..., api_key="...".
SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b([A-Za-z0-9_.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key"
    r"|private[_-]?key|credential)[A-Za-z0-9_.-]*)(\s*[=:]\s*)(['\"]?)([^\s'\"]{4,})\3")

# Long random-looking strings, such as a 40-character AWS secret access key. Requiring upper
# case, lower case and a digit spares hex digests, commit ids and resource addresses.
HIGH_ENTROPY = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_-])")


def _looks_random(match: re.Match[str]) -> str:
    word = match.group(0)
    mixed = (any(c.isupper() for c in word) and any(c.islower() for c in word)
             and any(c.isdigit() for c in word))
    return REDACTED if mixed else word


def redact(text: str) -> str:
    """Replace every substring of text that looks like a secret with [REDACTED]."""
    for pattern in TOKEN_PATTERNS:
        text = pattern.sub(REDACTED, text)
    text = URL_CREDENTIALS.sub(REDACTED, text)
    text = SECRET_ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return HIGH_ENTROPY.sub(_looks_random, text)


def redact_data(data: Any) -> Any:
    """Redact every string inside JSON-like data: dicts, lists and scalars."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {key: redact_data(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [redact_data(item) for item in data]
    return data
