"""envctl provider-mirror prints the CLI config path and the export line that uses it."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from envctl.cli.main import cli


def test_prints_export_line(mirror_cache_dir):
    result = CliRunner().invoke(
        cli, ["provider-mirror"], env={"ENVCTL_CACHE_DIR": str(mirror_cache_dir)}
    )

    assert result.exit_code == 0
    assert f"Terraform CLI config: {mirror_cache_dir}/terraform.rc" in result.stdout
    assert f"export TF_CLI_CONFIG_FILE={mirror_cache_dir}/terraform.rc" in result.stdout
    assert result.stderr == ""


def test_json_output(mirror_cache_dir):
    result = CliRunner().invoke(
        cli, ["--output", "json", "provider-mirror", "--cache-dir", str(mirror_cache_dir)]
    )

    data = json.loads(result.stdout)
    assert result.exit_code == 0
    assert data["cli_config"] == f"{mirror_cache_dir}/terraform.rc"
    assert data["mirror"] == f"{mirror_cache_dir}/providers"
    assert data["provider"] == "registry.terraform.io/hashicorp/aws"
    assert data["version"] == "3.39.0"


def test_first_run_reports_unpacking_on_stderr(tmp_path):
    """Unpacks 177 MB into a fresh cache folder, then deletes it."""
    cache_dir = tmp_path / "fresh-cache"
    try:
        result = CliRunner().invoke(cli, ["provider-mirror", "--cache-dir", str(cache_dir)])

        assert result.exit_code == 0
        assert "Unpacking terraform-provider-aws_3.39.0_linux_amd64.zip" in result.stderr
        assert "export TF_CLI_CONFIG_FILE=" in result.stdout
        assert (cache_dir / "terraform.rc").is_file()
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
