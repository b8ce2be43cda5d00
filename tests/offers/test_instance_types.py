"""instance.types: instance types in order of preference, checked like instance.type."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.definitions.loader import load_project
from envctl.definitions.models import EnvironmentDefinition
from envctl.errors import DefinitionError

ENVIRONMENT = """\
id: env-0c0ffee1
name: gpu
owner: alice
availability_zone: us-east-1a
{template}instance:
{instance}
image:
  ami: ami-0123456789abcdef0
"""


def make_project(root: Path, instance: str, template: str | None = None) -> Path:
    (root / "environments").mkdir(parents=True)
    (root / "envctl.yaml").write_text("region: us-east-1\n")
    uses = ""
    if template is not None:
        (root / "templates").mkdir()
        (root / "templates" / "base.yaml").write_text(template)
        uses = "template: base\n"
    (root / "environments" / "gpu.yaml").write_text(
        ENVIRONMENT.format(template=uses, instance=instance))
    return root


def test_types_resolve_in_order(tmp_path):
    root = make_project(tmp_path, "  types: [g5.xlarge, g6.xlarge, g4dn.xlarge]")

    spec = load_project(root).environment("gpu")

    assert spec.instance_type == "g5.xlarge"
    assert spec.instance_types == ("g5.xlarge", "g6.xlarge", "g4dn.xlarge")


def test_single_type_is_its_own_list(tmp_path):
    root = make_project(tmp_path, "  type: t3.large")

    spec = load_project(root).environment("gpu")

    assert spec.instance_type == "t3.large"
    assert spec.instance_types == ("t3.large",)


@pytest.mark.parametrize("instance,problem", [
    ("  type: g5.xlarge\n  types: [g6.xlarge]", "set exactly one of type or types"),
    ("  types: []", "at least 1 item"),
    ("  types: [g5.xlarge, g5.xlarge]", "lists an instance type twice"),
])
def test_invalid_instance_block(tmp_path, instance, problem):
    root = make_project(tmp_path, instance)

    with pytest.raises(DefinitionError) as raised:
        load_project(root)

    assert problem in str(raised.value)


def test_unknown_listed_type_names_entry_and_line(tmp_path):
    root = make_project(tmp_path, "  types:\n    - g5.xlarge\n    - g6.xlarg")

    with pytest.raises(DefinitionError) as raised:
        load_project(root)

    message = str(raised.value)
    assert "gpu.yaml:8" in message
    assert "instance.types[1]" in message
    assert "unknown instance type 'g6.xlarg'" in message
    assert "did you mean 'g6.xlarge'?" in message


def test_listed_type_must_be_offered_in_zone(tmp_path):
    root = make_project(tmp_path, "  types: [g5.xlarge, p4de.24xlarge]")

    with pytest.raises(DefinitionError) as raised:
        load_project(root)

    assert "instance.types[1]" in str(raised.value)
    assert "p4de.24xlarge is not offered in us-east-1a" in str(raised.value)


def test_environment_types_replace_template_type(tmp_path):
    root = make_project(tmp_path, "  types: [g6.xlarge, g5.xlarge]",
                        template="instance:\n  type: g5.xlarge\n")

    spec = load_project(root).environment("gpu")

    assert spec.instance_type == "g6.xlarge"
    assert spec.instance_types == ("g6.xlarge", "g5.xlarge")


def test_environment_type_replaces_template_types(tmp_path):
    root = make_project(tmp_path, "  type: t3.large",
                        template="instance:\n  types: [g5.xlarge, g6.xlarge]\n")

    spec = load_project(root).environment("gpu")

    assert spec.instance_types == ("t3.large",)


def test_template_types_are_inherited(tmp_path):
    root = make_project(tmp_path, "  {}", template="instance:\n  types: [g5.xlarge, g6.xlarge]\n")
    source = root / "environments" / "gpu.yaml"
    source.write_text(source.read_text().replace("instance:\n  {}\n", ""))

    spec = load_project(root).environment("gpu")

    assert spec.instance_types == ("g5.xlarge", "g6.xlarge")


def test_schema_describes_types():
    schema = EnvironmentDefinition.model_json_schema()

    properties = schema["$defs"]["InstanceSpec"]["properties"]
    assert "in order of preference" in properties["types"]["description"]
    assert "required" not in schema["$defs"]["InstanceSpec"]
