"""envctl open: an environment's workspace in VS Code or Cursor, over remote SSH."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import click

from envctl.cli.apply import confirm
from envctl.cli.options import Context, pass_context, sandbox_option, yes_option
from envctl.cli.ssh import reach
from envctl.errors import EnvctlError


@click.command("open")
@click.argument("environment")
@click.option("--editor", type=click.Choice(["code", "cursor"]), default=None,
              help="Editor to start: code (VS Code) or cursor. Default: editor in your "
                   "settings, else code.")
@yes_option
@sandbox_option
@pass_context
def open_environment(ctx: Context, environment: str, editor: str | None, yes: bool,
                     sandbox: bool) -> None:
    """Open an environment's workspace folder in your editor over SSH.

    Writes the environment's Host entry (envctl-NAME) to envctl's own ssh config file. The
    first time, asks to add one Include line for that file at the top of ~/.ssh/config;
    nothing else in that file changes. A stopped environment is started first, after asking.
    --yes answers both questions.

    \b
    Example:
      envctl open sd-dreambooth
      envctl open sd-dreambooth --editor cursor
    """
    from envctl.sshconfig import workspace_folder

    target = reach(ctx, environment, sandbox, yes)
    _ensure_include(target.config_file, yes)
    name = editor or target.settings.editor or "code"
    program = shutil.which(name)
    if program is None:
        raise EnvctlError(f"{name} not found on PATH; install its shell command (in the editor: "
                          "Shell Command: Install in PATH) or pass --editor")
    folder = workspace_folder(target.spec)
    remote = f"ssh-remote+{target.host.alias}"
    completed = subprocess.run([program, "--remote", remote, folder], check=False)
    if completed.returncode != 0:
        raise EnvctlError(f"{name} exited with status {completed.returncode} opening {remote} "
                          f"{folder}; try `envctl ssh {environment}` to check the connection")
    ctx.emit(f"{environment}: opened {folder} on {target.host.alias} in {name}",
             {"environment": environment, "host": target.host.alias, "folder": folder,
              "editor": name})


def _ensure_include(config_file: Path, yes: bool) -> None:
    """Add the Include line to ~/.ssh/config once, after asking."""
    from envctl.sshconfig import add_include, include_line, includes, user_ssh_config

    user_config = user_ssh_config()
    if includes(user_config, config_file):
        return
    line = include_line(config_file).strip()
    confirm(f"Editors find envctl hosts through ~/.ssh/config. Add `{line}` as its first "
            "line? Nothing else in the file changes.", yes)
    add_include(user_config, config_file)
    click.echo(f"Added `{line}` to {user_config}", err=True)
