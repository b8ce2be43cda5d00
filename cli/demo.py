"""envctl demo: the main job, narrated, on the local sandbox cloud.

It works on a copy of the project, so the demo's image pins and scale edits never touch the
user's files.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from envctl.cli.options import Context, pass_context
from envctl.cli.render import StepPrinter, plan_summary


def say(message: str) -> None:
    click.secho(f"\n==> {message}", bold=True, err=True)


def copy_project(root: Path) -> Path:
    target = Path(tempfile.mkdtemp(prefix="envctl-demo-"))
    shutil.copy2(root / "envctl.yaml", target / "envctl.yaml")
    for folder in ("environments", "templates"):
        if (root / folder).is_dir():
            shutil.copytree(root / folder, target / folder)
    return target


@click.command()
@click.option("--keep", is_flag=True, help="Leave the sandbox and the demo copy running.")
@pass_context
def demo(ctx: Context, keep: bool) -> None:
    """Plan, apply, scale, stop and destroy every environment on the local sandbox.

    Needs no cloud account: AWS is moto and Vault is OpenBao, both on 127.0.0.1.

    \b
    Example:
      envctl --project examples demo
    """
    from envctl.definitions.loader import load_project
    from envctl.sandbox import down, up
    from envctl.workspace import open_workspace

    root = copy_project(ctx.load_project().root)
    say(f"Copied the project to {root}; starting the sandbox cloud on 127.0.0.1")
    sandbox = up(root)
    click.echo(
        f"    AWS (moto): {sandbox.aws_endpoint}   Vault (OpenBao): {sandbox.vault_address}",
        err=True,
    )
    try:
        workspace = open_workspace(load_project(root), sandbox=True)
        run_story(workspace)
    finally:
        if keep:
            say(
                f"Left running. Try: envctl --project {root} --sandbox ... ; "
                f"stop with: envctl --project {root} sandbox down"
            )
        else:
            say("Stopping the sandbox")
            down(root)
            shutil.rmtree(root, ignore_errors=True)
    say("Done: environments planned, applied, scaled, stopped and destroyed; volumes kept.")


def run_story(workspace) -> None:  # type: ignore[no-untyped-def]
    from envctl.planning.run import apply_plans, plan_environments

    printer = StepPrinter()
    specs = list(workspace.project.environments)
    say(f"Planning {len(specs)} environments (images resolved and pinned)")
    plans = plan_environments(workspace, specs, workspace.plans_dir, printer)
    click.echo("\n".join(plan_summary(plan) for plan in plans))
    say("Applying every plan")
    apply_plans(workspace, plans, on_step=printer)
    show_inventory(workspace)
    gpu = next(spec for spec in workspace.project.environments if _has_gpu(spec.instance_type))
    scale_round_trip(workspace, gpu.name, "t3.large", printer)
    stop_environment(workspace, gpu.name)
    destroy_all(workspace, printer)


def _has_gpu(instance_type: str) -> bool:
    from envctl.definitions.catalog import instance_types

    return instance_types()[instance_type].has_gpu


def show_inventory(workspace) -> None:  # type: ignore[no-untyped-def]
    from envctl.inventory import describe_environments

    say("envctl ls")
    for status in describe_environments(workspace, list(workspace.project.environments)):
        click.echo(
            f"  {status.name:16} {status.state:8} {status.instance_type or '-':12} "
            f"{status.instance_id or '-'}"
        )


def scale_round_trip(workspace, name: str, cpu_type: str, printer: StepPrinter) -> None:  # type: ignore[no-untyped-def]
    from envctl.scaling import scale

    original = workspace.project.environment(name).instance_type
    for instance_type in (cpu_type, original):
        say(f"envctl scale {name} --type {instance_type} --apply")
        result = scale(workspace, name, instance_type, printer)
        click.echo(plan_summary(result.plan))
        click.echo(
            f"  volume {result.volume_before} -> {result.volume_after} "
            f"({'same volume' if result.volume_before == result.volume_after else 'CHANGED'})"
        )


def stop_environment(workspace, name: str) -> None:  # type: ignore[no-untyped-def]
    from envctl.lifecycle import stop

    say(f"envctl stop {name}")
    click.echo(f"  {stop(workspace, name)}")


def destroy_all(workspace, printer: StepPrinter) -> None:  # type: ignore[no-untyped-def]
    from envctl.planning.run import apply_plans, plan_destroy, retained_volume_id

    say("Destroying every environment, keeping the data volumes")
    for spec in workspace.project.environments:
        plan = plan_destroy(workspace, spec, workspace.plans_dir, False, printer)
        apply_plans(workspace, [plan], on_step=printer)
        click.echo(f"  {spec.name}: destroyed; volume {retained_volume_id(workspace, spec)} kept")
