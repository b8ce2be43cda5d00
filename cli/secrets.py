"""envctl secrets: store, list and remove secret values in Vault, and hand a box its login.

Values come from stdin or a file, never from the command line, and no command prints one.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from envctl.cli.options import Context, pass_context, sandbox_option, yes_option
from envctl.errors import EnvctlError, VaultError

if TYPE_CHECKING:
    from envctl.definitions.loader import Project
    from envctl.secrets.scopes import Scope
    from envctl.secrets.vault import Vault

SCOPE_HELP = "user, user:OWNER, env:ENVIRONMENT or template:TEMPLATE."


@click.group()
def secrets() -> None:
    """Secret values in Vault. Environment files name secrets; values live only in Vault.

    \b
    Example:
      envctl secrets set HF_TOKEN --scope template:gpu-pytorch < token.txt
      envctl secrets ls
    """


@secrets.command("set")
@click.argument("name")
@click.option("--scope", "scope_text", required=True, help=f"Where to store it: {SCOPE_HELP}")
@click.option("--from-file", type=click.Path(exists=True, dir_okay=False),
              help="Read the value from this file, byte for byte. Default: stdin.")
@sandbox_option
@pass_context
def set_secret(ctx: Context, name: str, scope_text: str, from_file: str | None,
               sandbox: bool) -> None:
    """Store a secret's value as a new version. The value comes from stdin or --from-file.

    From stdin, one trailing newline is dropped, so `echo` and `pbpaste` both work.

    \b
    Example:
      envctl secrets set WANDB_API_KEY --scope user < ~/wandb.key
    """
    from envctl.secrets.store import put_secret

    project, vault = open_secrets_vault(ctx, sandbox)
    scope = resolve_scope(scope_text, project)
    value = read_value(name, from_file)
    stored = put_secret(vault, scope, name, value)
    ctx.emit(f"{name}: stored in {scope} (version {stored.version})",
             {"name": name, "scope": scope.option, "version": stored.version})


@secrets.command("ls")
@click.option("--scope", "scope_text", default=None,
              help=f"List only this scope: {SCOPE_HELP} Default: every scope of the project.")
@sandbox_option
@pass_context
def list_command(ctx: Context, scope_text: str | None, sandbox: bool) -> None:
    """List secret names and scopes, and the named secrets that are missing. Never values."""
    from envctl.secrets.listing import secret_rows

    project, vault = open_secrets_vault(ctx, sandbox)
    scopes = [resolve_scope(scope_text, project)] if scope_text else None
    rows = secret_rows(vault, project, scopes, os.environ)
    lines = [f"{row.name:24} {row.scope.option:32} {row.status}" for row in rows]
    ctx.emit("\n".join(lines) or "no secrets", [row.to_json() for row in rows])


@secrets.command("rm")
@click.argument("name")
@click.option("--scope", "scope_text", required=True, help=f"Where it is stored: {SCOPE_HELP}")
@yes_option
@sandbox_option
@pass_context
def remove_command(ctx: Context, name: str, scope_text: str, yes: bool, sandbox: bool) -> None:
    """Delete a secret and every version of it. Environments that name it fail their next plan."""
    from envctl.cli.apply import confirm
    from envctl.secrets.store import remove_secret

    project, vault = open_secrets_vault(ctx, sandbox)
    scope = resolve_scope(scope_text, project)
    confirm(f"Delete {name} and all its versions from {scope}?", yes)
    remove_secret(vault, scope, name)
    ctx.emit(f"{name}: removed from {scope}", {"name": name, "scope": scope.option})


@secrets.command("handoff")
@click.argument("environment")
@click.option("--ttl", "ttl_s", type=click.IntRange(min=1, max=86400), default=None,
              help="Seconds the handoff stays usable (default: 900).")
@sandbox_option
@pass_context
def handoff_command(ctx: Context, environment: str, ttl_s: int | None, sandbox: bool) -> None:
    """Print the JSON a box needs to fetch its secrets once, to deliver by hand.

    It contains a response-wrapped secret id that works once and expires, never a secret value.
    Each call issues a new one. `envctl secrets deliver` sends one over SSH instead.

    \b
    Example:
      envctl secrets handoff whisper | ssh ubuntu@HOST \\
        'sudo install -D -m 0600 /dev/stdin /run/envctl/secrets-handoff.json'
    """
    from envctl.secrets.handoff import BOX_HANDOFF_PATH, HANDOFF_TTL_S, issue_handoff

    project, vault = open_secrets_vault(ctx, sandbox)
    spec = project.environment(environment)
    handoff = issue_handoff(vault, spec, ttl_s or HANDOFF_TTL_S)
    click.echo(json.dumps(handoff, indent=2, sort_keys=True))
    click.echo(f"Deliver it to {BOX_HANDOFF_PATH} on {spec.name}'s box within "
               f"{handoff['expires_in']} s; it works once.", err=True)


@secrets.command("deliver")
@click.argument("environment")
@yes_option
@sandbox_option
@pass_context
def deliver_command(ctx: Context, environment: str, yes: bool, sandbox: bool) -> None:
    """Send a new handoff to the box over SSH, where its boot waits to fetch the secrets.

    Run it after an apply that creates or replaces the box: the boot waits 15 minutes for
    the handoff before it gives up and runs the setup without secrets. A stopped box is
    started first, after asking (--yes starts it without asking). The handoff travels on
    ssh's stdin, never on a command line.

    \b
    Example:
      envctl apply whisper && envctl secrets deliver whisper
    """
    import subprocess

    from envctl.cli.ssh import reach, ssh_command
    from envctl.secrets.handoff import BOX_HANDOFF_PATH, BOX_INSTALL_COMMAND, issue_handoff
    from envctl.secrets.preflight import check_named_secrets

    project, vault = open_secrets_vault(ctx, sandbox)
    spec = project.environment(environment)
    # Vault problems stop the command before reach() starts a stopped box.
    check_named_secrets(vault, [spec])
    target = reach(ctx, environment, sandbox, yes)
    handoff = issue_handoff(vault, spec)
    argv = [*ssh_command(target), "--", target.host.alias, BOX_INSTALL_COMMAND]
    completed = subprocess.run(argv, input=json.dumps(handoff).encode(), check=False)
    if completed.returncode != 0:
        raise EnvctlError(f"{spec.name}: ssh exited with status {completed.returncode} while "
                          f"delivering the handoff, which expires unused; check that `envctl "
                          f"ssh {spec.name}` works, then run `envctl secrets deliver "
                          f"{spec.name}` again")
    ctx.emit(f"{spec.name}: handoff delivered to {BOX_HANDOFF_PATH} on {target.host.alias}; "
             f"the boot's fetcher must use it within {handoff['expires_in']} s",
             {"environment": spec.name, "host": target.host.alias, "path": BOX_HANDOFF_PATH,
              "expires_in": handoff["expires_in"]})


def open_secrets_vault(ctx: Context, sandbox: bool) -> tuple[Project, Vault]:
    """Load the project and find its Vault: the sandbox's with --sandbox, else the configured."""
    from envctl.secrets.vault import Vault, target_from
    from envctl.workspace import sandbox_requested

    project = ctx.load_project()
    environ = dict(os.environ)
    in_sandbox = sandbox_requested(sandbox)
    if in_sandbox:
        from envctl.errors import SandboxError
        from envctl.sandbox import current

        running = current(project.root)
        if running is None:
            raise SandboxError(f"the sandbox is not running for {project.root}; run "
                               "`envctl sandbox up` first")
        environ.update(running.environment())
    target = target_from(project.settings, environ, in_sandbox)
    if target is None:
        raise VaultError("no Vault is configured; set vault.address in envctl.yaml (or "
                         "VAULT_ADDR), or use --sandbox")
    return project, Vault(target)


def resolve_scope(text: str, project: Project) -> Scope:
    from envctl.secrets.scopes import parse_scope

    return parse_scope(text, project, os.environ)


def read_value(name: str, from_file: str | None) -> str:
    """Read the value from the file, a hidden prompt on a terminal, or stdin."""
    if from_file:
        raw = Path(from_file).read_bytes()
    elif sys.stdin.isatty():
        raw = click.prompt(f"Value for {name}", hide_input=True,
                           confirmation_prompt=True, err=True).encode()
    else:
        raw = sys.stdin.buffer.read()
        raw = raw[:-2] if raw.endswith(b"\r\n") else raw.removesuffix(b"\n")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise EnvctlError(f"the value for {name} is not UTF-8 text; Vault's KV store keeps "
                          "text, so base64-encode binary values first") from None
