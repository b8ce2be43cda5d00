"""Small projects on disk for review tests: environments with a fixed AMI, no cloud needed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from envctl.definitions.loader import load_project
from envctl.definitions.spec import EnvironmentSpec

CPU_TEMPLATE = """\
instance:
  type: t3.large
image:
  ami: ami-0123456789abcdef0
volume:
  size_gb: 50
autostop:
  idle_minutes: 60
"""


def environment_yaml(name: str, number: int, template: str | None = None,
                     extra: str = "") -> str:
    """An environment file; without a template it is a g5.xlarge with a 200 GiB gp3 volume."""
    lines = [f"id: env-{number:08x}", f"name: {name}", "owner: alice",
             "availability_zone: us-east-1a", "network:", "  ssh_cidrs: [203.0.113.0/24]"]
    if template:
        lines.append(f"template: {template}")
    else:
        lines.extend(["instance:", "  type: g5.xlarge", "image:", "  ami: ami-0123456789abcdef0",
                      "volume:", "  size_gb: 200", "autostop:", "  idle_minutes: 60"])
    return "\n".join(lines) + "\n" + extra


def write_project(root: Path, environments: dict[str, str],
                  templates: dict[str, str] | None = None,
                  settings: str = "region: us-east-1\n") -> Path:
    """Write envctl.yaml, environments/NAME.yaml and templates/NAME.yaml under root."""
    (root / "environments").mkdir(parents=True, exist_ok=True)
    (root / "templates").mkdir(exist_ok=True)
    (root / "envctl.yaml").write_text(settings)
    for name, text in environments.items():
        (root / "environments" / f"{name}.yaml").write_text(text)
    for name, text in (templates or {}).items():
        (root / "templates" / f"{name}.yaml").write_text(text)
    return root


def load_spec(root: Path, text: str, settings: str = "region: us-east-1\n",
              templates: dict[str, str] | None = None) -> EnvironmentSpec:
    """Write one environment file and return its resolved spec."""
    write_project(root, {"box": text}, templates, settings)
    return load_project(root).environments[0]


def git(root: Path, *args: str) -> str:
    """Run git in root with a fixed identity; fail the test on a git error."""
    command = ["git", "-c", "user.name=envctl tests", "-c", "user.email=tests@example.com",
               "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args]
    completed = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)
    return completed.stdout
