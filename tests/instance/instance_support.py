"""Helpers for the instance tests: specs, local git repositories, and running the boot scripts
in a temporary root (ENVCTL_ROOT) as the current user."""

from __future__ import annotations

import getpass
import os
import subprocess
from pathlib import Path
from typing import Any

from envctl.definitions.models import ImageSpec, RepoSpec, SecretRef, VolumeSpec
from envctl.definitions.spec import EnvironmentSpec

SCRIPTS = Path(__file__).resolve().parents[2] / "instance" / "scripts"
VOLUME_ID = "vol-0123456789abcdef0"
BY_ID_LINK = "nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0"
USER = getpass.getuser()
# A spec that names secrets carries the fetcher, and its boot waits for a handoff.
HF_TOKEN = (SecretRef.model_validate({"name": "HF_TOKEN"}),)


def make_spec(**fields: Any) -> EnvironmentSpec:
    """A resolved spec with defaults for every field the instance does not care about."""
    values: dict[str, Any] = {
        "id": "env-0a1b2c3d",
        "name": "sd-box",
        "owner": "alice",
        "template": None,
        "region": "us-east-1",
        "availability_zone": "us-east-1a",
        "instance_type": "g5.xlarge",
        "image": ImageSpec.model_validate({"ami": "ami-0123456789abcdef0"}),
        "volume": VolumeSpec.model_validate({}),
        "ssh_cidrs": (),
        "vpc_id": None,
        "subnet_id": None,
        "repos": (),
        "setup": None,
        "autostop_minutes": None,
        "secrets": (),
        "tags": {"team": "vision"},
        "source": Path("environments/sd-box.yaml"),
    }
    values.update(fields)
    return EnvironmentSpec(**values)


def repo(url: str | Path, ref: str = "HEAD", path: str | None = None) -> RepoSpec:
    return RepoSpec.model_validate({"url": str(url), "ref": ref, "path": path})


def git(*args: str | Path, cwd: Path | None = None) -> str:
    command = ["git", "-c", "user.name=envctl test", "-c", "user.email=test@example.com"]
    result = subprocess.run(
        [*command, *map(str, args)], cwd=cwd, check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def make_origin(directory: Path) -> Path:
    """A repository with a main branch, a feature branch, a tag v1 and three commits."""
    directory.mkdir(parents=True)
    git("init", "--quiet", "--initial-branch=main", directory)
    (directory / "README").write_text("first\n")
    git("add", "README", cwd=directory)
    git("commit", "--quiet", "-m", "first", cwd=directory)
    git("tag", "v1", cwd=directory)
    git("checkout", "--quiet", "-b", "feature", cwd=directory)
    (directory / "README").write_text("feature\n")
    git("commit", "--quiet", "-am", "feature", cwd=directory)
    git("checkout", "--quiet", "main", cwd=directory)
    (directory / "README").write_text("main\n")
    git("commit", "--quiet", "-am", "main", cwd=directory)
    return directory


def script_env(root: Path, **overrides: str) -> dict[str, str]:
    """Environment for the boot scripts: everything under root, as the current user, no waits."""
    env = {
        "PATH": os.environ["PATH"],
        "ENVCTL_ROOT": str(root),
        "ENVCTL_USER": USER,
        "ENVCTL_RETRY_DELAY_SECONDS": "0",
        "ENVCTL_DEVICE_WAIT_SECONDS": "0",
    }
    env.update(overrides)
    return env


def run_script(
    name: str, *args: str | Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / name), *map(str, args)], env=env, capture_output=True, text=True
    )


def run_user_data(
    user_data: str, root: Path, **overrides: str
) -> subprocess.CompletedProcess[str]:
    """Run rendered user data with bash, as cloud-init would, relocated under root."""
    path = root.parent / "user-data.sh"
    path.write_text(user_data)
    return subprocess.run(
        ["bash", str(path)], env=script_env(root, **overrides), capture_output=True, text=True
    )


def unpack(user_data: str, root: Path) -> Path:
    """Unpack the user data's payload under root without booting; return the library folder."""
    result = run_user_data(user_data, root, ENVCTL_UNPACK_ONLY="1")
    assert result.returncode == 0, result.stderr
    return root / "usr/local/lib/envctl"


def read_status(root: Path) -> dict[str, str]:
    lines = (root / "var/lib/envctl/status").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def unmount_under(directory: Path) -> None:
    """Unmount every mount point below directory, deepest first."""
    result = subprocess.run(
        ["findmnt", "--raw", "--noheadings", "--output", "TARGET"],
        capture_output=True,
        text=True,
        check=True,
    )
    prefix = f"{directory}/"
    targets = [t for t in result.stdout.splitlines() if t.startswith(prefix)]
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", target], check=True)
