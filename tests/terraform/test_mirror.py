"""The offline hashicorp/aws mirror: its layout, its CLI config, and real offline inits."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from envctl.errors import EnvctlError
from envctl.terraform import mirror
from envctl.terraform.runner import StackRunner, init_stacks

PROVIDER_EXECUTABLE = "terraform-provider-aws_v3.39.0_x5"


class TestProviderMirror:
    def test_unpacked_layout(self, mirror_cache_dir):
        executable = (
            mirror_cache_dir
            / "providers/registry.terraform.io/hashicorp/aws/3.39.0/linux_amd64"
            / PROVIDER_EXECUTABLE
        )

        assert executable.is_file()
        assert os.access(executable, os.X_OK)

    def test_second_call_keeps_existing_copy(self, mirror_cache_dir):
        executable = mirror.provider_dir(mirror_cache_dir) / PROVIDER_EXECUTABLE
        inode = executable.stat().st_ino

        mirror_dir = mirror.ensure_provider_mirror(mirror_cache_dir)

        assert mirror_dir == mirror_cache_dir / "providers"
        assert executable.stat().st_ino == inode

    def test_racing_unpacks_leave_one_copy(self, tmp_path):
        """Unpacks 177 MB twice at once, then deletes it."""
        cache_dir = tmp_path / "race-cache"
        cache_dir.mkdir()
        try:
            with ThreadPoolExecutor(max_workers=2) as pool:
                results = list(pool.map(mirror.ensure_provider_mirror, [cache_dir, cache_dir]))

            assert results == [cache_dir / "providers", cache_dir / "providers"]
            assert os.listdir(mirror.provider_dir(cache_dir)) == [PROVIDER_EXECUTABLE]
            assert [path.name for path in cache_dir.iterdir()] == ["providers"]
        finally:
            shutil.rmtree(cache_dir)

    def test_other_platform_is_rejected(self, tmp_path, monkeypatch):
        monkeypatch.setattr(mirror.platform, "system", lambda: "Darwin")
        monkeypatch.setattr(mirror.platform, "machine", lambda: "arm64")

        with pytest.raises(
            EnvctlError, match="contains hashicorp/aws 3.39.0 only for linux_amd64"
        ):
            mirror.ensure_provider_mirror(tmp_path)

        assert list(tmp_path.iterdir()) == []


class TestCliConfig:
    def test_config_routes_aws_to_mirror(self, mirror_cache_dir, mirror_config):
        text = mirror_config.read_text()

        assert f'plugin_cache_dir = "{mirror_cache_dir}/plugin-cache"' in text
        assert "plugin_cache_may_break_dependency_lock_file = true" in text
        assert f'path    = "{mirror_cache_dir}/providers"' in text
        assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
        assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text
        assert (mirror_cache_dir / "plugin-cache").is_dir()

    def test_paths_are_quoted_as_hcl(self):
        text = mirror.cli_config_text(Path('/odd/"dir"/${HOME}'), Path("/cache/plugins"))

        assert r'path    = "/odd/\"dir\"/$${HOME}"' in text


class TestDefaultCacheDir:
    def test_envctl_cache_dir_wins(self, monkeypatch, tmp_path):
        monkeypatch.setenv("ENVCTL_CACHE_DIR", str(tmp_path / "override"))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))

        assert mirror.default_cache_dir() == tmp_path / "override"

    def test_xdg_cache_home_next(self, monkeypatch, tmp_path):
        monkeypatch.delenv("ENVCTL_CACHE_DIR", raising=False)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))

        assert mirror.default_cache_dir() == tmp_path / "xdg" / "envctl"

    def test_home_cache_last(self, monkeypatch, tmp_path):
        monkeypatch.delenv("ENVCTL_CACHE_DIR", raising=False)
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))

        assert mirror.default_cache_dir() == tmp_path / ".cache" / "envctl"


class TestOfflineInit:
    def test_aws_stack_inits_and_validates(
        self, make_stack, aws_config, offline_env, mirror_config
    ):
        runner = StackRunner(
            "dev", make_stack(aws_config), env=offline_env, cli_config=mirror_config
        )

        runner.init()
        runner.validate()

        lock_file = (runner.stack_dir / ".terraform.lock.hcl").read_text()
        assert 'provider "registry.terraform.io/hashicorp/aws"' in lock_file
        assert 'version     = "3.39.0"' in lock_file

    def test_invalid_aws_argument_fails_validate(
        self, make_stack, aws_config, offline_env, mirror_config
    ):
        aws_config["resource"]["aws_security_group"]["ssh"]["no_such_argument"] = True
        runner = StackRunner(
            "dev", make_stack(aws_config), env=offline_env, cli_config=mirror_config
        )
        runner.init()

        with pytest.raises(
            EnvctlError,
            match="terraform validate failed for dev: Error: Extraneous JSON object property",
        ):
            runner.validate()

    def test_parallel_inits_fill_cold_plugin_cache(
        self, make_stack, aws_config, offline_env, mirror_cache_dir, tmp_path
    ):
        cold_cache = tmp_path / "cold-cache"
        cold_cache.mkdir()
        config = mirror.write_cli_config(cold_cache, mirror_cache_dir / "providers")
        runners = [
            StackRunner(
                name, make_stack(aws_config, name=name), env=offline_env, cli_config=config
            )
            for name in ("alpha", "beta", "gamma", "delta")
        ]

        results = init_stacks(runners, parallelism=4)

        assert results == [None, None, None, None]
        cached = cold_cache / "plugin-cache/registry.terraform.io/hashicorp/aws/3.39.0/linux_amd64"
        assert (cached / PROVIDER_EXECUTABLE).is_file()
        for runner in runners:
            runner.validate()
