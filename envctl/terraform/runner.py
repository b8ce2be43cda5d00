"""Terraform commands for one stack folder, and running many stacks at once."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from envctl.errors import TerraformFailed
from envctl.terraform.engine import Engine, LibterraformEngine
from envctl.terraform.results import CommandResult, PlanOutcome

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

# Called as on_step(environment, step, elapsed) after each Terraform command succeeds. The
# step is the Terraform subcommand ("init", "plan", "show", "apply", ...), elapsed its run
# time in seconds.
StepCallback = Callable[[str, str, float], None]
# Written into .terraform after a successful init: the hash of everything init reads.
INIT_MARK = "envctl-init.sha256"
STACK_FILE = "cdk.tf.json"


@dataclass
class StackRunner:
    """Runs Terraform for one environment in its stack folder, which contains cdk.tf.json.

    Each command gets os.environ with env merged over it, TF_IN_AUTOMATION=1, and, when
    cli_config is set, TF_CLI_CONFIG_FILE pointing at it. Every failure raises TerraformFailed.
    """

    environment: str
    stack_dir: Path
    engine: Engine = field(default_factory=LibterraformEngine)
    env: dict[str, str] = field(default_factory=dict)
    cli_config: Path | None = None
    on_step: StepCallback | None = None

    def init(self) -> None:
        """Initialize the stack folder, unless the last init read exactly the same inputs.

        Init reads the backend, the required providers, the module sources, the engine and the
        CLI configuration (mirror and plugin cache). When none changed since the last
        successful init and its provider files still exist, running it again changes nothing,
        and skipping it saves seconds per stack on every plan.
        """
        mark = self.stack_dir / ".terraform" / INIT_MARK
        fingerprint = self._init_inputs()
        if self._initialized(mark, fingerprint):
            log.debug("%s: init skipped, its inputs are unchanged", self.environment)
            return
        # envctl writes each stack's backend from the project every time: the sandbox's state
        # folder, the real one, or S3. -reconfigure takes it as written instead of stopping
        # on the backend that .terraform remembers from the last run.
        # NOTE: so moving a project from local state to S3 starts from an empty S3 state;
        # push the old state with `terraform state push` before planning there.
        mark.unlink(missing_ok=True)
        self._run("init", ["init", "-input=false", "-no-color", "-reconfigure"])
        mark.parent.mkdir(exist_ok=True)
        mark.write_text(fingerprint)

    def _init_inputs(self) -> str:
        """Hash what init reads: the stack's terraform block, its module sources, the engine
        and the CLI configuration file."""
        path = self.stack_dir / STACK_FILE
        stack = json.loads(path.read_text()) if path.is_file() else {}
        modules = {name: block.get("source") for name, block in stack.get("module", {}).items()}
        config = self.cli_config.read_text() if self.cli_config else ""
        inputs = [stack.get("terraform"), modules, self.engine.name, config]
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()

    def _initialized(self, mark: Path, fingerprint: str) -> bool:
        """Check that the last init had these inputs and that its provider files still exist:
        a cleared plugin cache leaves dangling links in .terraform/providers."""
        if not mark.is_file() or mark.read_text() != fingerprint:
            return False
        if not (self.stack_dir / ".terraform.lock.hcl").is_file():
            return False
        providers = self.stack_dir / ".terraform" / "providers"
        return providers.is_dir() and all(path.exists() for path in providers.rglob("*"))

    def validate(self) -> None:
        self._run("validate", ["validate", "-no-color"])

    def plan(
        self, plan_file: Path, destroy: bool = False, targets: Sequence[str] | None = None
    ) -> PlanOutcome:
        """Write a plan to plan_file and change nothing else.

        With destroy, the plan destroys resources instead. With targets (resource addresses),
        it covers only those. A relative plan_file is taken relative to the current folder,
        not the stack folder.
        """
        plan_file = Path(plan_file).resolve()
        args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={plan_file}"]
        if destroy:
            args.append("-destroy")
        args += [f"-target={target}" for target in targets or ()]
        # -detailed-exitcode: 0 means no changes, 2 means changes pending, 1 means an error.
        planned = self._run("plan", args, success_codes=(0, 2))
        plan = self._run_json("show", ["show", "-json", str(plan_file)])
        return PlanOutcome(
            plan_file=plan_file,
            has_changes=planned.returncode == 2,
            plan=plan,
            text=planned.stdout,
        )

    def apply(self, plan_file: Path) -> str:
        """Apply exactly the saved plan in plan_file; return Terraform's output text.

        Terraform rejects a plan made against a state that has changed since.
        """
        plan_file = Path(plan_file).resolve()
        return self._run("apply", ["apply", "-input=false", "-no-color", str(plan_file)]).stdout

    def destroy(self, targets: Sequence[str] | None = None) -> str:
        """Destroy all resources, or only targets (resource addresses); return the output text."""
        args = ["destroy", "-auto-approve", "-input=false", "-no-color"]
        args += [f"-target={target}" for target in targets or ()]
        return self._run("destroy", args).stdout

    def output(self) -> dict[str, Any]:
        """Return the root outputs as `output -json` prints them: name -> {value, type, ...}."""
        return self._run_json("output", ["output", "-json"])

    def show_state(self) -> dict[str, Any]:
        """Return the current state as `show -json` gives it; "values" is absent when empty."""
        return self._run_json("show", ["show", "-json"])

    def import_resource(self, address: str, resource_id: str) -> None:
        """Bring an existing cloud resource into the state at address (`terraform import`)."""
        self._run("import", ["import", "-input=false", "-no-color", address, resource_id])

    def remove_from_state(self, address: str) -> None:
        """Forget the resource at address without destroying it (`terraform state rm`)."""
        self._run("state rm", ["state", "rm", address])

    def child_env(self) -> dict[str, str]:
        """Build the environment variables every Terraform command of this stack runs with."""
        env = {**os.environ, **self.env, "TF_IN_AUTOMATION": "1"}
        if self.cli_config is not None:
            env["TF_CLI_CONFIG_FILE"] = str(self.cli_config)
            # The mirror means offline use, so skip Terraform's version check against
            # checkpoint-api.hashicorp.com as well.
            env["CHECKPOINT_DISABLE"] = "1"
        return env

    def _run(
        self, step: str, args: list[str], success_codes: tuple[int, ...] = (0,)
    ) -> CommandResult:
        log.debug("%s: terraform %s", self.environment, " ".join(args))
        started = time.monotonic()
        result = self.engine.run(args, self.stack_dir, self.child_env())
        elapsed = time.monotonic() - started

        if result.returncode not in success_codes:
            log.debug("%s: terraform %s exited %d", self.environment, step, result.returncode)
            raise TerraformFailed(self.environment, step, result.stderr or result.stdout)
        if self.on_step is not None:
            self.on_step(self.environment, step, elapsed)
        return result

    def _run_json(self, step: str, args: list[str]) -> dict[str, Any]:
        stdout = self._run(step, args).stdout
        try:
            parsed = json.loads(stdout)
        except json.JSONDecodeError as error:
            raise TerraformFailed(
                self.environment, step, f"Error: output is not JSON: {error}\n{stdout[:200]}"
            ) from error
        if not isinstance(parsed, dict):
            problem = f"Error: output is not a JSON object: {stdout[:200]}"
            raise TerraformFailed(self.environment, step, problem)
        return parsed


def run_parallel(
    items: Sequence[Item],
    function: Callable[[Item], Result],
    parallelism: int | None = None,
) -> list[Result | Exception]:
    """Call function on every item, at most parallelism at a time (default: the CPU count).

    Returns one entry per item in input order: the function's result, or the exception it
    raised, so one failing stack does not hide the others' results.
    """
    if not items:
        return []
    limit = parallelism or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=max(1, min(limit, len(items)))) as pool:
        futures = [pool.submit(function, item) for item in items]
        return _collect(futures)


def init_stacks(
    runners: Sequence[StackRunner], parallelism: int | None = None
) -> list[None | Exception]:
    """Run init for every stack: the first alone, then the rest in parallel.

    Terraform's plugin cache is unsafe for concurrent writes: two inits that install the same
    provider write the same cache folder at once, and one fails ("file exists") or leaves a
    copy whose checksum fails. The first init fills the cache, and the rest only link to it,
    because every envctl stack needs the same providers.
    """
    if not runners:
        return []
    first = run_parallel(runners[:1], StackRunner.init, 1)
    # NOTE: the rest can still race when another envctl process fills the cache at the same
    # time. They also race when a user's own CLI config lacks
    # plugin_cache_may_break_dependency_lock_file, because a stack without a lock file then
    # reinstalls into the cache (the mirror's config sets it).
    return first + run_parallel(runners[1:], StackRunner.init, parallelism)


def _collect(futures: list[Future[Result]]) -> list[Result | Exception]:
    outcomes: list[Result | Exception] = []
    for future in futures:
        try:
            outcomes.append(future.result())
        except Exception as error:
            outcomes.append(error)
    return outcomes
