"""Results of one Terraform command and of one saved plan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CommandResult:
    """Exit status and captured output of one Terraform command."""

    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class PlanOutcome:
    """A saved plan: whether it changes anything, its JSON form and the text Terraform printed.

    `plan` is the parsed output of `terraform show -json PLAN_FILE`.
    """

    plan_file: Path
    has_changes: bool
    plan: dict[str, Any]
    text: str
