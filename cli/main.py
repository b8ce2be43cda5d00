"""The envctl command group: global options, lazy command loading and the one error handler."""

from __future__ import annotations

import importlib
import logging

import click

from envctl.cli.options import Context
from envctl.errors import EnvctlError

log = logging.getLogger(__name__)

# Each verb lives in its own module, imported only when that verb runs, so `envctl --help`
# and `envctl validate` never pay for the CDK bindings or boto3.
COMMANDS = {
    "validate": "envctl.cli.validate:validate",
    "schema": "envctl.cli.schema:schema",
    "synth": "envctl.cli.synth:synth",
    "provider-mirror": "envctl.cli.provider_mirror:provider_mirror",
    "sandbox": "envctl.cli.sandbox:sandbox",
    "plan": "envctl.cli.plan:plan",
    "apply": "envctl.cli.apply:apply",
    "destroy": "envctl.cli.destroy:destroy",
    "demo": "envctl.cli.demo:demo",
    "check": "envctl.cli.check:check",
    "snapshot": "envctl.cli.snapshot:snapshot",
    "snapshots": "envctl.cli.snapshots:snapshots",
    "restore": "envctl.cli.restore:restore",
    "scale": "envctl.cli.scale:scale",
    "move": "envctl.cli.move:move",
    "offers": "envctl.cli.offers:offers",
    "secrets": "envctl.cli.secrets:secrets",
    "ls": "envctl.cli.ls:ls",
    "status": "envctl.cli.status:status",
    "stop": "envctl.cli.stop:stop",
    "start": "envctl.cli.start:start",
    "keepalive": "envctl.cli.keepalive:keepalive",
    "template": "envctl.cli.template:template",
    "create": "envctl.cli.create:create",
    "open": "envctl.cli.open:open_environment",
    "ssh": "envctl.cli.ssh:ssh",
    "port-forward": "envctl.cli.port_forward:port_forward",
    "logs": "envctl.cli.logs:logs",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; print an EnvctlError as one line on stderr and exit 1."""
        try:
            return super().invoke(ctx)
        except EnvctlError as error:
            if isinstance(ctx.obj, Context) and ctx.obj.debug:
                raise
            log.debug("command failed", exc_info=True)
            click.secho(f"error: {error}", fg="red", err=True)
            ctx.exit(error.exit_code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Project folder holding envctl.yaml.",
)
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Format of what commands print on stdout.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs on stderr.")
@click.pass_context
def cli(ctx: click.Context, project_dir: str, output: str, debug: bool) -> None:
    """Dev environments as YAML in git, planned and applied as one Terraform stack each.

    \b
    Exit codes: 0 ok, 1 error, 2 changes present (plan --detailed-exitcode).
    """
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = Context(project_dir=project_dir, output=output, debug=debug)


def main() -> None:
    """The console script entry point."""
    cli()
