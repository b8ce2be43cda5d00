"""The README's main job: `envctl demo` runs its whole story on a sandbox of its own.

It runs on a trimmed copy of the examples (one GPU and one CPU environment), because the
story is the same for six and each apply costs about half a minute.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from e2e_support import copy_examples

from envctl.cli.main import cli

pytestmark = pytest.mark.e2e

KEPT = ("sd-dreambooth", "python-cpu")


def test_demo_runs_start_to_finish(tmp_path):
    root = copy_examples(tmp_path / "project")
    for environment in (root / "environments").glob("*.yaml"):
        if environment.stem not in KEPT:
            environment.unlink()

    result = CliRunner().invoke(cli, ["--project", str(root), "demo"])

    assert result.exit_code == 0, result.stderr[-3000:]
    assert "$ envctl scale sd-dreambooth --type t3.large --apply --yes" in result.stderr
    assert "sd-dreambooth: t3.large (was g5.xlarge), running; data volume" in result.stdout
    assert "sd-dreambooth: no changes" in result.stdout
    assert "python-cpu: destroyed; data volume" in result.stdout
    assert "sandbox stopped" in result.stdout

