"""The error tree. The CLI prints any EnvctlError as one line on stderr and exits 1."""

from __future__ import annotations

import os


class EnvctlError(Exception):
    """A failure the user can act on; the message says what failed, on which value, and the fix."""

    exit_code = 1


class DefinitionError(EnvctlError):
    """An invalid project, environment or template file."""

    def __init__(self, path: str, line: int | None, field: str, problem: str, fix: str = ""):
        self.path = path
        self.line = line
        self.field = field
        self.problem = problem
        self.fix = fix
        shown = _relative(path)
        where = f"{shown}:{line}" if line else shown
        message = f"{where}: {field}: {problem}" if field else f"{where}: {problem}"
        if fix:
            message = f"{message}; {fix}"
        super().__init__(message)


class DataLossRefused(EnvctlError):
    """A plan would replace or destroy a data volume and the user did not allow it."""


class TerraformFailed(EnvctlError):
    """Terraform exited with an error; carries the command and the tail of its stderr."""

    def __init__(self, environment: str, command: str, stderr: str):
        self.environment = environment
        self.command = command
        self.stderr = stderr
        tail = _last_error_line(stderr)
        super().__init__(f"terraform {command} failed for {environment}: {tail}")


class StalePlan(EnvctlError):
    """A saved plan no longer matches the definition or the state it was made from."""


class PolicyFailed(EnvctlError):
    """An environment breaks a policy from envctl.yaml and no exception waives it."""


class GitError(EnvctlError):
    """A git command that envctl runs failed, such as resolving the ref of --changed-since."""


class SandboxError(EnvctlError):
    """The local sandbox (moto, OpenBao) could not be started, reached or stopped."""


class CloudError(EnvctlError):
    """An AWS call failed."""


class VaultError(EnvctlError):
    """Vault is unreachable, sealed, or a named secret is missing."""


def _last_error_line(stderr: str) -> str:
    """Pick the most useful line of Terraform's stderr: the first 'Error:' line, else the last."""
    lines = [line.strip(" │╷╵") for line in stderr.splitlines()]
    lines = [line.strip() for line in lines if line.strip()]
    for index, line in enumerate(lines):
        if line.startswith("Error:"):
            detail = lines[index + 1] if index + 1 < len(lines) else ""
            return f"{line} {detail}".strip()
    return lines[-1] if lines else "no output"


def _relative(path: str) -> str:
    """Show a path relative to the working folder when it lies inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
