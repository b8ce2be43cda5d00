"""`envctl ls` against the equivalent `aws ec2 describe-instances` call, for 100 environments.

Starts a sandbox (moto on 127.0.0.1) in a temporary project, launches one instance per
environment with boto3 RunInstances (no Terraform), then times, each --repeat times:

- `envctl ls --sandbox` as a new process (Python start, project load, one DescribeInstances,
  the table), the way a user runs it;
- `aws ec2 describe-instances` (awscli from PyPI) with the same filters, as a new process;
- `envctl ls` in this process through Click's CliRunner, with imports already loaded.

It prints the median of each and the ratio of envctl's process to the aws process. It asserts
nothing.

Usage: python bench/ls_vs_awscli.py [--environments 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REGION = "us-east-1"
ZONE = "us-east-1a"
ENVIRONMENT = """\
id: env-{index:08x}
name: bench-{index}
owner: bench
availability_zone: {zone}
instance:
  type: t3.large
image:
  ami: {ami}
volume:
  size_gb: 20
"""


def make_project(root: Path, count: int, ami: str) -> list[str]:
    """Write envctl.yaml and count environment files; return their environment ids."""
    (root / "environments").mkdir(parents=True)
    (root / "envctl.yaml").write_text(f"region: {REGION}\n")
    ids = []
    for index in range(1, count + 1):
        (root / "environments" / f"bench-{index}.yaml").write_text(
            ENVIRONMENT.format(index=index, zone=ZONE, ami=ami))
        ids.append(f"env-{index:08x}")
    return ids


def launch_instances(ec2, ids: list[str], ami: str) -> None:  # type: ignore[no-untyped-def]
    for environment_id in ids:
        tags = [{"Key": "envctl:environment-id", "Value": environment_id}]
        ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t3.large",
                          Placement={"AvailabilityZone": ZONE},
                          TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])


def child_environment(sandbox) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """This process's environment without AWS settings, plus the sandbox's (127.0.0.1 only)."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    return {**base, **sandbox.environment()}


def console_script(name: str) -> str:
    """Return the named console script of this Python's environment, else the one on PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        sys.exit(f"{name} not found; install envctl with its dev extra (pip install -e "
                 "'.[dev]'), which pins awscli")
    return found


def envctl_command(root: Path) -> list[str]:
    return [console_script("envctl"), "--project", str(root), "ls", "--sandbox"]


def aws_command(sandbox, ids: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """Build the DescribeInstances call that envctl ls makes as an awscli command line."""
    from envctl.inventory import ENVIRONMENT_ID_TAG, LIVE_STATES

    return [console_script("aws"), "ec2", "describe-instances",
            "--endpoint-url", sandbox.aws_endpoint, "--region", REGION, "--output", "json",
            "--filters",
            f"Name=tag:{ENVIRONMENT_ID_TAG},Values={','.join(ids)}",
            f"Name=instance-state-name,Values={','.join(LIVE_STATES)}"]


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_process(command: list[str], environment: dict[str, str]) -> str:
    completed = subprocess.run(command, env=environment, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command[:4])} failed: {completed.stderr.strip()[-500:]}")
    return completed.stdout


def run_in_process(root: Path, environment: dict[str, str]) -> str:
    from click.testing import CliRunner

    from envctl.cli.main import cli

    result = CliRunner().invoke(cli, ["--project", str(root), "ls", "--sandbox"],
                                env=environment)
    if result.exit_code != 0:
        sys.exit(f"envctl ls failed: {result.stderr}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()

    import boto3

    from envctl.sandbox import down, up

    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    root = Path(tempfile.mkdtemp(prefix="envctl-bench-ls-"))
    sandbox = up(root)
    try:
        ec2 = boto3.client("ec2", **sandbox.client_settings(REGION))
        ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ids = make_project(root, arguments.environments, ami)
        launch_instances(ec2, ids, ami)
        environment = child_environment(sandbox)
        report(root, sandbox, ids, environment, arguments.repeat)
    finally:
        down(root)
        shutil.rmtree(root, ignore_errors=True)


def report(root: Path, sandbox, ids: list[str], environment: dict[str, str],  # type: ignore[no-untyped-def]
           repeat: int) -> None:
    envctl = envctl_command(root)
    aws = aws_command(sandbox, ids)
    listed = run_process(envctl, environment)
    described = run_process(aws, environment)
    rows = sum(1 for line in listed.splitlines() if line.startswith("bench-"))
    instances = described.count('"InstanceId"')
    print(f"{len(ids)} environments; envctl ls lists {rows} rows, aws describes {instances} "
          f"instances; median of {repeat} runs each")

    envctl_seconds = median_seconds(lambda: run_process(envctl, environment), repeat)
    aws_seconds = median_seconds(lambda: run_process(aws, environment), repeat)
    run_in_process(root, environment)
    warm_seconds = median_seconds(lambda: run_in_process(root, environment), repeat)

    print(f"envctl ls (new process)           {envctl_seconds:7.3f} s")
    print(f"aws ec2 describe-instances        {aws_seconds:7.3f} s")
    print(f"envctl ls (in process, warm)      {warm_seconds:7.3f} s")
    print(f"ratio envctl / aws (processes)    {envctl_seconds / aws_seconds:7.2f}")


if __name__ == "__main__":
    main()
