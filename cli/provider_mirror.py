"""envctl provider-mirror: unpack the offline hashicorp/aws mirror and print how to use it."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from envctl.cli.options import Context, pass_context
from envctl.terraform import mirror


@click.command("provider-mirror")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the mirror and its CLI config "
    "[default: $ENVCTL_CACHE_DIR, else $XDG_CACHE_HOME/envctl or ~/.cache/envctl].",
)
@pass_context
def provider_mirror(context: Context, cache_dir: Path | None) -> None:
    """Unpack hashicorp/aws 3.39.0 into a local mirror so `terraform init` works offline.

    Prints the path of a Terraform CLI config file that installs hashicorp/aws from the
    mirror and every other provider from its registry. Terraform uses it only when
    TF_CLI_CONFIG_FILE points at it.
    """
    cache_dir = mirror.default_cache_dir() if cache_dir is None else cache_dir
    if not mirror.provider_dir(cache_dir).is_dir():
        click.echo(f"Unpacking {mirror.PROVIDER_ZIP} (177 MB, once)...", err=True)
    config_path = mirror.mirror_cli_config(cache_dir)

    mirror_dir = cache_dir / "providers"
    export = f"export TF_CLI_CONFIG_FILE={shlex.quote(str(config_path))}"
    text = (
        f"Provider mirror: {mirror_dir} "
        f"(hashicorp/aws {mirror.PROVIDER_VERSION}, {mirror.PROVIDER_PLATFORM})\n"
        f"Terraform CLI config: {config_path}\n"
        "\n"
        "To make Terraform install hashicorp/aws from this mirror, run:\n"
        f"    {export}"
    )
    data = {
        "cli_config": str(config_path),
        "mirror": str(mirror_dir),
        "provider": mirror.PROVIDER_SOURCE,
        "version": mirror.PROVIDER_VERSION,
        "platform": mirror.PROVIDER_PLATFORM,
        "export": export,
    }
    context.emit(text, data)
