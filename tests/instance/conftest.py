"""Fixtures for the instance tests: a temporary root, loop devices and local git origins."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from instance_support import make_origin, unmount_under

from envctl.instance import payload

VOLUME_BYTES = 64 * 1024 * 1024
STAND_IN_AGENT = b"#!/usr/bin/env python3\nprint('stand-in autostop agent')\n"


@pytest.fixture
def fake_root(tmp_path: Path) -> Iterator[Path]:
    """An empty directory used as / (ENVCTL_ROOT). Mounts below it are undone afterwards."""
    root = tmp_path / "root"
    root.mkdir()
    yield root
    if os.geteuid() == 0:
        unmount_under(tmp_path)


def attach_loop_device(image: Path) -> str:
    """Attach a blank 64 MiB sparse file as a loop device; skip the test where that fails."""
    if os.geteuid() != 0:
        pytest.skip("loop devices and mounts need root")
    with image.open("wb") as file:
        file.truncate(VOLUME_BYTES)
    result = subprocess.run(
        ["losetup", "--find", "--show", str(image)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"loop devices are unavailable here: {result.stderr.strip()}")
    return result.stdout.strip()


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[str]:
    """A blank 64 MiB block device backed by a sparse file, detached afterwards."""
    device = attach_loop_device(tmp_path / "volume.img")
    yield device
    unmount_under(tmp_path)
    subprocess.run(["losetup", "--detach", device], check=True)


@pytest.fixture
def other_loop_device(tmp_path: Path) -> Iterator[str]:
    """A second blank block device, for another volume attached to the same instance."""
    device = attach_loop_device(tmp_path / "other-volume.img")
    yield device
    unmount_under(tmp_path)
    subprocess.run(["losetup", "--detach", device], check=True)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory that other users can read, unlike tmp_path, removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="envctl-instance-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A local repository to clone: branches main and feature, tag v1."""
    return make_origin(tmp_path / "origin")


@pytest.fixture
def stand_in_agent(monkeypatch: pytest.MonkeyPatch) -> bytes:
    """A small program in place of the packaged autostop agent, for tests of how the boot
    embeds and installs the agent, not of what the agent does."""
    monkeypatch.setattr(payload, "packaged_agent", lambda: STAND_IN_AGENT)
    return STAND_IN_AGENT
