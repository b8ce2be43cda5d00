"""The synthesized examples: envctl's policies and checkov's curated checks pass on each stack.

checkov (from PyPI, pinned in the Makefile) runs in a virtual environment of its own because
it pins an older boto3 than envctl. It must never reach the network. --skip-download keeps
it off the Prisma Cloud platform, CKV_SKIP_PACKAGE_UPDATE_CHECK stops its version check
against PyPI, and an HTTP proxy that only counts connections catches any other request.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from e2e_support import copy_examples
from ruamel.yaml import YAML

from envctl.definitions.loader import load_project
from envctl.review.policy import evaluate

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG = REPOSITORY / "examples" / ".checkov.yaml"
SKIP_LINE = re.compile(r"^\s*-\s*(CKV2?_[A-Z0-9_]+)\s+#\s*(\S.*)$")


def checkov_binary() -> str:
    """The checkov that `make test` installs, or one named by ENVCTL_CHECKOV or on PATH."""
    candidates = [os.environ.get("ENVCTL_CHECKOV"),
                  str(REPOSITORY / ".venv-checkov" / "bin" / "checkov"), shutil.which("checkov")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("checkov is not installed; run `make test`, which installs it into "
                ".venv-checkov, or set ENVCTL_CHECKOV to a checkov binary")


class ProxyTrap:
    """A listener on 127.0.0.1, named as the HTTP and HTTPS proxy, that counts connections."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def __enter__(self) -> ProxyTrap:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()


def run_checkov(folder: Path, scratch: Path, *args: str) -> list[dict[str, Any]]:
    """Run checkov on the stacks under folder; return its reports, one per framework.

    It runs in scratch, an empty folder that is also its home, because checkov reads a
    .checkov.yaml from the folder it runs in and from the home folder.
    """
    with ProxyTrap() as trap:
        environment = {key: value for key, value in os.environ.items()
                       if key.lower() not in ("no_proxy", "http_proxy", "https_proxy")}
        environment.update(HTTP_PROXY=trap.url, HTTPS_PROXY=trap.url, http_proxy=trap.url,
                           https_proxy=trap.url, BC_SKIP_MAPPING="TRUE", HOME=str(scratch),
                           CKV_SKIP_PACKAGE_UPDATE_CHECK="true")
        completed = subprocess.run(
            [checkov_binary(), "-d", str(folder), "-o", "json", *args], cwd=scratch,
            capture_output=True, text=True, env=environment, timeout=300, check=False)
    assert trap.connections == 0, "checkov tried to reach the network"
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    data = json.loads(completed.stdout)
    return data if isinstance(data, list) else [data]


def checks_by_result(reports: list[dict[str, Any]], result: str) -> dict[str, set[str]]:
    """For passed or failed: each check id, with the stack files it gave that result on."""
    found: dict[str, set[str]] = {}
    for report in reports:
        for check in report["results"][f"{result}_checks"]:
            found.setdefault(check["check_id"], set()).add(check["file_path"])
    return found


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    """The examples, copied and synthesized once for this module (a few seconds)."""
    from envctl.cdk.app import synth_project
    from envctl.terraform.runner import STACK_FILE

    root = copy_examples(tmp_path_factory.mktemp("checkov") / "project")
    project = load_project(root)
    folders = synth_project(project, project.environments)
    return project, {spec.id: folders[spec.id] / STACK_FILE for spec in project.environments}


@pytest.fixture(scope="module")
def every_check(stacks, tmp_path_factory):
    """Run checkov with every bundled check, to find the checks that apply to the stacks."""
    project, _files = stacks
    return run_checkov(project.root / "cdktf.out" / "stacks", tmp_path_factory.mktemp("home"),
                       "--framework", "terraform_json", "--skip-download")


def config_lists() -> tuple[list[str], dict[str, str]]:
    """The curated `check` list, and each skipped check with the reason on its line."""
    data = YAML(typ="safe").load(CONFIG.read_text())
    reasons = {}
    in_skips = False
    for line in CONFIG.read_text().splitlines():
        if not line.startswith(" "):
            in_skips = line.startswith("skip-check:")
        elif in_skips and (match := SKIP_LINE.match(line)):
            reasons[match.group(1)] = match.group(2)
    assert sorted(reasons) == sorted(data["skip-check"]), "every skipped check needs a reason"
    return list(data["check"]), reasons


def test_examples_pass_every_policy_on_their_stacks(stacks):
    project, files = stacks

    for spec in project.environments:
        stack = json.loads(files[spec.id].read_text())
        failed = [result.policy for result in evaluate(spec, project.settings, stack)
                  if not result.passed]
        assert failed == [], spec.name


def test_every_skipped_check_has_a_reason():
    curated, reasons = config_lists()

    assert reasons, "the skip list is empty"
    for check, reason in reasons.items():
        assert len(reason.split()) >= 5, f"{check}: the reason is too short"
    assert not set(curated) & set(reasons)


def test_checkov_passes_curated_checks_on_every_example(stacks, tmp_path):
    project, files = stacks
    curated, _reasons = config_lists()

    reports = run_checkov(project.root / "cdktf.out" / "stacks", tmp_path,
                          "--config-file", str(CONFIG))

    assert checks_by_result(reports, "failed") == {}
    passed = checks_by_result(reports, "passed")
    assert sorted(passed) == sorted(curated)
    for check, paths in passed.items():
        assert len(paths) == len(files), f"{check} did not run on every example"


def test_every_applicable_check_is_curated_or_skipped(every_check):
    curated, reasons = config_lists()

    applicable = set(checks_by_result(every_check, "passed")) | set(
        checks_by_result(every_check, "failed"))

    assert applicable - set(curated) - set(reasons) == set()


def test_every_skipped_check_still_fails(every_check):
    _curated, reasons = config_lists()

    failing = set(checks_by_result(every_check, "failed"))

    assert set(reasons) - failing == set(), "these skips pass now; move them to `check`"
    assert failing - set(reasons) == set()
