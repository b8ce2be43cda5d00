"""Commands that need no synthesis must not import the CDK layer (about 3 s of bindings)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests_support import GOOD_ENVIRONMENT

HEAVY = ("cdktn", "cdktn_provider_aws", "jsii", "envctl.cdk", "boto3", "hvac")

PROBE = """
import sys
from click.testing import CliRunner
from envctl.cli.main import cli
result = CliRunner().invoke(cli, sys.argv[1:])
print("exit=" + str(result.exit_code))
print("loaded=" + ",".join(sorted(name for name in {heavy!r} if name in sys.modules)))
"""


def run_probe(*args: str) -> tuple[str, str]:
    code = PROBE.format(heavy=HEAVY)
    completed = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                               text=True, check=True)
    lines = dict(line.split("=", 1) for line in completed.stdout.splitlines() if "=" in line)
    return lines["exit"], lines["loaded"]


@pytest.mark.parametrize("args", [["--help"], ["schema"], ["validate"]])
def test_command_skips_heavy_imports(tmp_path, args):
    (tmp_path / "environments").mkdir()
    (tmp_path / "envctl.yaml").write_text("region: us-east-1\n")
    (tmp_path / "environments" / "sd-box.yaml").write_text(GOOD_ENVIRONMENT)

    exit_code, loaded = run_probe("--project", str(tmp_path), *args)

    assert exit_code == "0"
    assert loaded == ""
