"""envctl demo: the main job, narrated, on the local sandbox cloud.

The demo runs the same commands a user types, in this process, and prints each one first, so
what it shows is exactly what the CLI does. It works on a copy of the project, so the image
pins and scale edits it makes never touch the user's files.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from envctl.cli.options import Context, pass_context
from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import EnvctlError

# The CPU type that the demo scales its GPU environment to, and back from.
CPU_TYPE = "t3.large"
# The value the demo stores in the sandbox Vault for every secret that the examples name.
DEMO_SECRET_VALUE = "demo-value-for-the-sandbox"


class DemoError(EnvctlError):
    """A step of the demo failed; the command's own error is printed above."""


@click.command()
@click.option("--keep", is_flag=True, help="Leave the sandbox and the demo copy running.")
@pass_context
def demo(ctx: Context, keep: bool) -> None:
    """Plan, apply, scale, stop and destroy every environment on the local sandbox.

    Needs no cloud account: AWS is moto and Vault is OpenBao, both on 127.0.0.1. Works on a
    copy of the project, so your files stay as they are.

    \b
    Example:
      envctl --project examples demo
    """
    root = copy_project(ctx.load_project().root)
    say(f"Working on a copy of the project in {root}")
    with sandbox_mode():
        try:
            run_story(root)
        finally:
            if keep:
                say(f"Left running. Try: cd {root} && ENVCTL_SANDBOX=1 envctl ls ; "
                    "stop it with: envctl sandbox down")
            else:
                envctl(root, "sandbox", "down")
                shutil.rmtree(root, ignore_errors=True)
    say("Done: environments planned, applied, scaled, stopped and destroyed; volumes kept.")


def run_story(root: Path) -> None:
    from envctl.definitions.loader import load_project

    envctl(root, "sandbox", "up")
    specs = list(load_project(root).environments)
    say("Every command below talks to the sandbox, because ENVCTL_SANDBOX=1 is set")
    envctl(root, "validate")
    store_demo_secrets(root, specs)
    say(f"Planning {len(specs)} environments: a summary each, saved plans for audit")
    # --out is relative to the working folder, like terraform plan -out, so name the copy's.
    plans = str(root / "plans")
    envctl(root, "plan", "--all", "--out", plans)
    say("Applying exactly the saved plans")
    envctl(root, "apply", "--all", "--plan-dir", plans)
    envctl(root, "ls")
    gpu = next((spec for spec in specs if has_gpu(spec.instance_type)), None)
    if gpu is None:
        raise DemoError(f"the demo scales a GPU environment, and {root} has none; run it on "
                        "a project with one, such as examples/")
    say(f"{gpu.name} is a GPU box; swap it to a cheap CPU type and back, keeping its volume")
    envctl(root, "scale", gpu.name, "--type", CPU_TYPE, "--apply", "--yes")
    envctl(root, "ls", gpu.name)
    envctl(root, "scale", gpu.name, "--type", gpu.instance_type, "--apply", "--yes")
    say(f"Stopping {gpu.name}; a stopped box is a normal state, not drift")
    envctl(root, "stop", gpu.name, "--yes")
    envctl(root, "plan", gpu.name, "--detailed-exitcode")
    say("Destroying every environment; the data volumes stay for the next apply")
    for spec in specs:
        envctl(root, "destroy", spec.name, "--yes")
    envctl(root, "ls")


def store_demo_secrets(root: Path, specs: list[EnvironmentSpec]) -> None:
    """Put a stand-in value for every secret the examples name into the sandbox Vault."""
    value_file = root / ".envctl" / "demo-secret"
    value_file.parent.mkdir(parents=True, exist_ok=True)
    value_file.write_text(DEMO_SECRET_VALUE)
    value_file.chmod(0o600)
    from envctl.secrets.scopes import locations

    named = {(location.scope.option, location.name) for spec in specs
             for location in locations(spec)}
    for scope, name in sorted(named):
        envctl(root, "secrets", "set", name, "--scope", scope, "--from-file", str(value_file))


def envctl(root: Path, *args: str) -> None:
    """Run one envctl command on the copy, as a user would type it; stop the demo on failure."""
    from envctl.cli.main import cli

    click.secho(f"\n$ envctl {shlex.join(args)}", fg="cyan", bold=True, err=True)
    code = cli.main(["--project", str(root), *args], prog_name="envctl",
                     standalone_mode=False)
    # A plan with --detailed-exitcode exits 2 when something changed, which the demo reports.
    if code not in (None, 0):
        raise DemoError(f"`envctl {shlex.join(args)}` exited with {code}; the demo stops here")


def has_gpu(instance_type: str) -> bool:
    from envctl.definitions.catalog import instance_types

    return instance_types()[instance_type].has_gpu


def say(message: str) -> None:
    click.secho(f"\n==> {message}", bold=True, err=True)


def copy_project(root: Path) -> Path:
    target = Path(tempfile.mkdtemp(prefix="envctl-demo-"))
    shutil.copy2(root / "envctl.yaml", target / "envctl.yaml")
    for folder in ("environments", "templates"):
        if (root / folder).is_dir():
            shutil.copytree(root / folder, target / folder)
    return target


@contextmanager
def sandbox_mode() -> Iterator[None]:
    previous = os.environ.get("ENVCTL_SANDBOX")
    os.environ["ENVCTL_SANDBOX"] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["ENVCTL_SANDBOX"]
        else:
            os.environ["ENVCTL_SANDBOX"] = previous
