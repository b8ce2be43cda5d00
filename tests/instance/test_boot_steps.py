"""The boot steps one by one, with real git and bash, in a temporary root as the current user."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from instance_support import git, run_script, script_env


def write_list(path: Path, *fields: str) -> Path:
    path.write_bytes(b"".join(field.encode() + b"\0" for field in fields))
    return path


def is_mount_point(path: Path) -> bool:
    return subprocess.run(["mountpoint", "-q", str(path)]).returncode == 0


def head_of(directory: Path) -> str:
    return git("rev-parse", "HEAD", cwd=directory)


class TestCloneRepos:
    def test_clones_branch_tag_commit_and_head(self, fake_root: Path, origin: Path):
        workspace = fake_root / "workspace"
        workspace.mkdir()
        first_commit = git("rev-list", "--max-parents=0", "main", cwd=origin)
        repos = write_list(
            fake_root / "repos.list",
            str(origin), "HEAD", "default",
            str(origin), "feature", "branch",
            str(origin), "v1", "tag",
            str(origin), first_commit, "nested/commit",
        )

        result = run_script("clone-repos.sh", workspace, repos, env=script_env(fake_root))

        assert result.returncode == 0, result.stdout + result.stderr
        assert (workspace / "default/README").read_text() == "main\n"
        assert (workspace / "branch/README").read_text() == "feature\n"
        assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=workspace / "branch") == "feature"
        assert (workspace / "tag/README").read_text() == "first\n"
        assert head_of(workspace / "nested/commit") == first_commit

    def test_rerun_leaves_local_changes(self, fake_root: Path, origin: Path):
        workspace = fake_root / "workspace"
        workspace.mkdir()
        repos = write_list(fake_root / "repos.list", str(origin), "main", "project")
        env = script_env(fake_root)
        assert run_script("clone-repos.sh", workspace, repos, env=env).returncode == 0
        clone = workspace / "project"
        (clone / "README").write_text("edited, not committed\n")
        (clone / "notes.txt").write_text("untracked\n")
        git("checkout", "--quiet", "-b", "experiment", cwd=clone)

        result = run_script("clone-repos.sh", workspace, repos, env=env)

        assert result.returncode == 0, result.stderr
        assert "exists; leaving it untouched" in result.stdout
        assert (clone / "README").read_text() == "edited, not committed\n"
        assert (clone / "notes.txt").read_text() == "untracked\n"
        assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=clone) == "experiment"

    def test_failed_clone_reported_others_cloned(self, fake_root: Path, origin: Path):
        workspace = fake_root / "workspace"
        workspace.mkdir()
        repos = write_list(
            fake_root / "repos.list",
            str(fake_root / "missing"), "HEAD", "broken",
            str(origin), "no-such-branch", "bad-ref",
            str(origin), "main", "good",
        )
        env = script_env(fake_root, ENVCTL_CLONE_ATTEMPTS="2")

        result = run_script("clone-repos.sh", workspace, repos, env=env)

        assert result.returncode == 1
        assert result.stdout.count("failed (attempt") == 4
        assert not (workspace / "broken").exists()
        assert not (workspace / "bad-ref").exists()
        assert (workspace / "good/README").read_text() == "main\n"
        assert sorted(p.name for p in workspace.iterdir()) == ["good"]

    def test_ext_transport_not_run(self, fake_root: Path, tmp_path: Path):
        workspace = fake_root / "workspace"
        workspace.mkdir()
        marker = tmp_path / "pwned"
        repos = write_list(
            fake_root / "repos.list", f"ext::sh -c touch% {marker}", "HEAD", "ext"
        )

        result = run_script("clone-repos.sh", workspace, repos, env=script_env(fake_root))

        assert result.returncode == 1
        assert not marker.exists()

    def test_ref_with_leading_dash_rejected(self, fake_root: Path, origin: Path):
        workspace = fake_root / "workspace"
        workspace.mkdir()
        repos = write_list(fake_root / "repos.list", str(origin), "--orphan=x", "project")

        result = run_script("clone-repos.sh", workspace, repos, env=script_env(fake_root))

        assert result.returncode == 1
        assert "starts with '-'" in result.stdout
        assert not (workspace / "project").exists()


class TestRunSetup:
    def test_success_logs_to_file_and_stdout(self, fake_root: Path):
        script = fake_root / "setup"
        script.write_text('echo "setup in $PWD"\n')
        workdir = fake_root / "workspace"
        workdir.mkdir()
        log = fake_root / "logs/setup.log"
        env = script_env(fake_root)

        result = run_script("run-setup.sh", "setup", script, workdir, log, env=env)

        assert result.returncode == 0, result.stderr
        assert f"setup in {workdir}" in result.stdout
        assert f"setup in {workdir}" in log.read_text()
        assert "setup: succeeded" in log.read_text()

    def test_failure_retried_then_reported(self, fake_root: Path):
        counter = fake_root / "attempts"
        script = fake_root / "setup"
        script.write_text(f'echo attempt >> "{counter}"\nfalse\necho not reached\n')
        log = fake_root / "setup.log"
        env = script_env(fake_root, ENVCTL_SETUP_ATTEMPTS="3")

        result = run_script("run-setup.sh", "setup", script, fake_root, log, env=env)

        assert result.returncode == 1
        assert counter.read_text() == "attempt\n" * 3
        assert "not reached" not in log.read_text()
        assert "setup: gave up after 3 attempts" in log.read_text()

    def test_executable_script_uses_its_interpreter(self, fake_root: Path):
        script = fake_root / "setup"
        script.write_text("#!/usr/bin/env python3\nprint('from python')\n")
        script.chmod(0o755)
        log = fake_root / "setup.log"

        result = run_script(
            "run-setup.sh", "setup", script, fake_root, log, env=script_env(fake_root)
        )

        assert result.returncode == 0, result.stderr
        assert "from python" in log.read_text()

    @pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
    def test_runs_as_environment_user(self, shared_dir: Path):
        workdir = shared_dir / "workspace"
        workdir.mkdir()
        shutil.chown(workdir, "nobody")
        script = shared_dir / "setup"
        script.write_text('echo "$(id -un) $HOME" > whoami\n')
        log = shared_dir / "setup.log"
        env = script_env(shared_dir, ENVCTL_USER="nobody")

        result = run_script("run-setup.sh", "setup", script, workdir, log, env=env)

        assert result.returncode == 0, result.stdout + result.stderr
        assert (workdir / "whoami").read_text() == f"nobody {shared_dir}/nonexistent\n"
        assert (workdir / "whoami").owner() == "nobody"

    def test_script_gets_clean_environment(self, fake_root: Path):
        script = fake_root / "setup"
        script.write_text("env\n")
        log = fake_root / "setup.log"
        env = script_env(fake_root, LEAKED="from the boot", ENVCTL_WORKSPACE="/data/workspace")

        result = run_script("run-setup.sh", "setup", script, fake_root, log, env=env)

        assert result.returncode == 0, result.stderr
        assert "LEAKED" not in result.stdout
        assert "ENVCTL_WORKSPACE=/data/workspace" in result.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="bind mounts need root")
class TestPrepareHome:
    def home(self, root: Path) -> Path:
        return root / Path(os.path.expanduser("~")).relative_to("/")

    def test_first_boot_seeds_home_from_image(self, fake_root: Path):
        home = self.home(fake_root)
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh/authorized_keys").write_text("ssh-ed25519 AAAA first\n")
        (fake_root / "data").mkdir()

        result = run_script("prepare-home.sh", env=script_env(fake_root, MOUNT_PATH="/data"))

        assert result.returncode == 0, result.stderr
        volume_home = fake_root / "data/home" / home.name
        assert (volume_home / ".ssh/authorized_keys").read_text() == "ssh-ed25519 AAAA first\n"
        assert is_mount_point(home)
        assert (volume_home / "workspace").readlink() == Path("/data/workspace")
        assert (fake_root / "data/workspace").is_dir()

    def test_swap_keeps_volume_home_and_adds_new_key(self, fake_root: Path):
        home = self.home(fake_root)
        volume_home = fake_root / "data/home" / home.name
        (volume_home / ".ssh").mkdir(parents=True)
        (volume_home / ".ssh/authorized_keys").write_text("ssh-ed25519 AAAA first")
        (volume_home / ".bash_history").write_text("make train\n")
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh/authorized_keys").write_text("ssh-ed25519 BBBB second\n")
        (home / ".bash_history").write_text("from the image\n")

        result = run_script("prepare-home.sh", env=script_env(fake_root, MOUNT_PATH="/data"))

        assert result.returncode == 0, result.stderr
        keys = (home / ".ssh/authorized_keys").read_text()
        assert keys == "ssh-ed25519 AAAA first\nssh-ed25519 BBBB second\n"
        assert (home / ".bash_history").read_text() == "make train\n"

    def test_rerun_adds_no_second_mount(self, fake_root: Path):
        (fake_root / "data").mkdir()
        env = script_env(fake_root, MOUNT_PATH="/data")
        assert run_script("prepare-home.sh", env=env).returncode == 0

        result = run_script("prepare-home.sh", env=env)

        assert result.returncode == 0, result.stderr
        assert "already a mount point" in result.stdout
        fstab = (fake_root / "etc/fstab").read_text().splitlines()
        assert len(fstab) == 1
        mounts = subprocess.run(
            ["findmnt", "--raw", "-n", "-o", "TARGET"], capture_output=True, text=True, check=True
        )
        assert mounts.stdout.splitlines().count(str(self.home(fake_root))) == 1
