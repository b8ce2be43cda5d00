"""The whole boot: rendered user data run by bash in a temporary root, against a loop device."""

from __future__ import annotations

import subprocess
from pathlib import Path

from instance_support import (
    BY_ID_LINK,
    USER,
    VOLUME_ID,
    git,
    make_spec,
    read_status,
    repo,
    run_user_data,
    script_env,
    unmount_under,
)

from envctl.definitions.spec import EnvironmentSpec
from envctl.instance import PersonalLayer, render_user_data

TIMER_LINK = "etc/systemd/system/timers.target.wants/envctl-autostop.timer"


def attach(root: Path, device: str) -> None:
    by_id = root / "dev/disk/by-id"
    by_id.mkdir(parents=True, exist_ok=True)
    (by_id / BY_ID_LINK).symlink_to(device)


def home_of(root: Path) -> Path:
    return root / "data/home" / USER


def swap_root_disk(tmp_path: Path, root: Path) -> None:
    """Unmount everything and delete what lived on the root disk, as a new instance would."""
    unmount_under(tmp_path)
    for directory in ("dev", "etc", "usr", "var", "root", "home"):
        subprocess.run(["rm", "-rf", str(root / directory)], check=True)


def boot(
    root: Path, spec: EnvironmentSpec, personal: PersonalLayer | None = None, **overrides: str
) -> subprocess.CompletedProcess[str]:
    user_data = render_user_data(spec, personal, volume_id=VOLUME_ID)
    return run_user_data(user_data, root, **overrides)


class TestBoot:
    def test_first_boot_runs_every_step(
        self, fake_root: Path, loop_device: str, origin: Path, tmp_path: Path
    ):
        attach(fake_root, loop_device)
        dotfiles = tmp_path / "dotfiles"
        dotfiles.mkdir()
        git("init", "--quiet", "--initial-branch=main", dotfiles)
        (dotfiles / "install.sh").write_text('echo dotfiles >> "$ENVCTL_WORKSPACE/order"\n')
        git("add", "install.sh", cwd=dotfiles)
        git("commit", "--quiet", "-m", "install", cwd=dotfiles)
        spec = make_spec(
            repos=(repo(origin, "feature"),),
            setup='echo "setup $(cat origin/README)" >> "$ENVCTL_WORKSPACE/order"\n',
        )
        personal = PersonalLayer(
            dotfiles_url=str(dotfiles), setup='echo personal >> "$ENVCTL_WORKSPACE/order"\n'
        )

        result = boot(fake_root, spec, personal)

        assert result.returncode == 0, result.stdout + result.stderr
        assert read_status(fake_root)["state"] == "ok"
        order = (fake_root / "data/workspace/order").read_text()
        assert order == "setup feature\ndotfiles\npersonal\n"
        assert (home_of(fake_root) / ".dotfiles/install.sh").is_file()
        assert "setup: succeeded" in (fake_root / "data/.envctl/logs/setup.log").read_text()

    def test_swap_keeps_work_and_reruns_setup(
        self, fake_root: Path, loop_device: str, origin: Path, tmp_path: Path
    ):
        attach(fake_root, loop_device)
        spec = make_spec(
            repos=(repo(origin, "main", "project"),),
            setup='echo ran >> "$ENVCTL_MOUNT_PATH/setup-runs"\n',
        )
        assert boot(fake_root, spec).returncode == 0
        clone = fake_root / "data/workspace/project"
        (clone / "README").write_text("local change\n")
        (home_of(fake_root) / ".bash_history").write_text("python train.py\n")

        swap_root_disk(tmp_path, fake_root)
        attach(fake_root, loop_device)
        result = boot(fake_root, spec)

        assert result.returncode == 0, result.stdout + result.stderr
        assert "keeping its data" in result.stderr
        assert (clone / "README").read_text() == "local change\n"
        assert (home_of(fake_root) / ".bash_history").read_text() == "python train.py\n"
        assert (fake_root / "data/setup-runs").read_text() == "ran\nran\n"

    def test_failing_setup_leaves_box_up(self, fake_root: Path, loop_device: str):
        attach(fake_root, loop_device)
        spec = make_spec(setup='echo attempt >> "$ENVCTL_MOUNT_PATH/attempts"\nexit 3\n')
        personal = PersonalLayer(setup='touch "$ENVCTL_MOUNT_PATH/personal-ran"\n')

        result = boot(fake_root, spec, personal, ENVCTL_SETUP_ATTEMPTS="2")

        assert result.returncode == 1
        status = read_status(fake_root)
        assert status["state"] == "failed"
        assert status["failed_steps"] == "setup"
        assert (fake_root / "data/attempts").read_text() == "attempt\nattempt\n"
        assert (fake_root / "data/personal-ran").exists()
        log = (fake_root / "data/.envctl/logs/setup.log").read_text()
        assert "failed with exit status 3 (attempt 2 of 2)" in log
        assert "gave up after 2 attempts" in log

    def test_missing_volume_stops_before_setup(self, fake_root: Path, origin: Path):
        marker = fake_root / "setup-ran"
        spec = make_spec(repos=(repo(origin),), setup=f'touch "{marker}"\n')

        result = boot(fake_root, spec, ENVCTL_DEVICE_WAIT_SECONDS="0")

        assert result.returncode == 1
        status = read_status(fake_root)
        assert status["state"] == "failed"
        assert status["failed_steps"] == "mount"
        assert not (fake_root / "data/workspace").exists()
        assert not marker.exists()

    def test_rerun_by_hand_remembers_volume(self, fake_root: Path, loop_device: str):
        attach(fake_root, loop_device)
        spec = make_spec(setup='echo ran >> "$ENVCTL_MOUNT_PATH/setup-runs"\n')
        assert boot(fake_root, spec).returncode == 0

        env = script_env(fake_root)
        result = subprocess.run(
            [str(fake_root / "usr/local/lib/envctl/boot.sh")], env=env, capture_output=True,
            text=True,
        )

        assert result.returncode == 0, result.stdout + result.stderr
        assert (fake_root / "data/setup-runs").read_text() == "ran\nran\n"

    def test_autostop_armed_before_setup(
        self, fake_root: Path, loop_device: str, stand_in_agent: bytes
    ):
        attach(fake_root, loop_device)
        link = fake_root / TIMER_LINK
        spec = make_spec(
            autostop_minutes=30,
            setup=f'test -L "{link}" && touch "$ENVCTL_MOUNT_PATH/armed"\nexit 1\n',
        )

        result = boot(fake_root, spec, ENVCTL_SETUP_ATTEMPTS="1")

        assert result.returncode == 1
        assert (fake_root / "data/armed").exists()
        assert link.is_symlink()
        assert (fake_root / "etc/envctl/autostop.json").is_file()
        assert read_status(fake_root)["failed_steps"] == "setup"
