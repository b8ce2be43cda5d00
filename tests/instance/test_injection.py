"""Text from the definition reaches the box byte for byte and never runs as shell or template.

Every user field gets Jinja syntax, Terraform syntax, quotes, ';', '$(...)', backticks,
newlines and the payload's heredoc terminator. Each payload that escaped would create a file
named pwned; the tests assert none exists and that the unpacked data equals the input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from instance_support import (
    BY_ID_LINK,
    VOLUME_ID,
    git,
    make_origin,
    make_spec,
    read_status,
    repo,
    run_user_data,
    unpack,
)

from envctl.definitions.spec import EnvironmentSpec
from envctl.instance import PersonalLayer, render_user_data

MARKER = "pwned"
# The payloads differ by field because a directory name cannot contain '/', a git branch name
# cannot contain spaces, '*' or control characters, and a URL here is a local path.
ANYWHERE = (
    "{{ 7*7 }}{% if true %}jinja{% endif %}${HOME}%{ if x }"
    "'\"; touch pwned; $(touch pwned) `touch pwned` \\\n"
    "ENVCTL_END_OF_PAYLOAD\ntouch pwned\n"
)
BRANCH = "x;$(touch${IFS}pwned)`touch${IFS}pwned`{{x}}{%x%}'\""
DIRECTORY = "dir $(touch pwned) `touch pwned` ;'\"{{7*7}}\nENVCTL_END_OF_PAYLOAD"


def saving_setup(name: str) -> str:
    """A setup script that saves the injection attempts, through a quoted heredoc, to a file."""
    return (
        "# " + ANYWHERE.replace("\n", " ") + "\n"
        f'cat > "$ENVCTL_WORKSPACE/{name}" <<\'INNER\'\n'
        + ANYWHERE
        + "INNER\n"
    )


SETUP = saving_setup("setup-saw")
PERSONAL_SETUP = saving_setup("personal-saw")


def nasty_origin(tmp_path: Path) -> Path:
    """A local repository whose path and branch are both injection attempts."""
    origin = make_origin(tmp_path / f"origin {DIRECTORY}")
    git("branch", BRANCH, "feature", cwd=origin)
    return origin


def nasty_spec(origin: Path) -> EnvironmentSpec:
    return make_spec(
        name="sd-box" + ANYWHERE,
        owner="alice" + ANYWHERE,
        repos=(
            repo(origin, BRANCH, DIRECTORY),
            repo(origin, "main", "plain"),
        ),
        setup=SETUP,
        tags={"team": ANYWHERE, ANYWHERE.replace("\n", " "): "value"},
    )


def nasty_personal(origin: Path) -> PersonalLayer:
    return PersonalLayer(
        dotfiles_url=str(origin),
        dotfiles_ref=BRANCH,
        setup=PERSONAL_SETUP,
    )


def markers_created(tmp_path: Path) -> list[Path]:
    """Return every marker file an escaped payload made. Relative ones land below the test's
    working directory (tmp_path), and a payload run from / would make /pwned."""
    found = list(tmp_path.rglob(MARKER))
    if Path("/", MARKER).exists():
        found.append(Path("/", MARKER))
    return found


def test_fields_arrive_byte_for_byte(
    fake_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    origin = nasty_origin(tmp_path)
    spec = nasty_spec(origin)
    personal = nasty_personal(origin)

    lib = unpack(render_user_data(spec, personal, volume_id=VOLUME_ID), fake_root)

    assert (lib / "data/setup").read_bytes() == SETUP.encode()
    assert (lib / "data/personal-setup").read_bytes() == PERSONAL_SETUP.encode()
    fields = (lib / "data/repos.list").read_bytes().split(b"\0")
    assert fields[:3] == [str(origin).encode(), BRANCH.encode(), DIRECTORY.encode()]
    dotfiles = (lib / "data/dotfiles.list").read_bytes().split(b"\0")
    assert dotfiles[:3] == [str(origin).encode(), BRANCH.encode(), b".dotfiles"]
    facts = json.loads((lib / "data/environment.json").read_text())
    assert facts["owner"] == spec.owner
    assert markers_created(tmp_path) == []


def test_boot_with_injection_attempts(
    fake_root: Path, loop_device: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    by_id = fake_root / "dev/disk/by-id"
    by_id.mkdir(parents=True)
    (by_id / BY_ID_LINK).symlink_to(loop_device)
    origin = nasty_origin(tmp_path)
    spec = nasty_spec(origin)

    user_data = render_user_data(spec, nasty_personal(origin), volume_id=VOLUME_ID)
    result = run_user_data(user_data, fake_root)

    assert result.returncode == 0, result.stdout + result.stderr
    assert read_status(fake_root)["state"] == "ok"
    workspace = fake_root / "data/workspace"
    clone = workspace / DIRECTORY
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=clone) == BRANCH
    assert (clone / "README").read_text() == "feature\n"
    assert (workspace / "setup-saw").read_text() == ANYWHERE
    assert (workspace / "personal-saw").read_text() == ANYWHERE
    assert markers_created(tmp_path) == []
