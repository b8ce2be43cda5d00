"""The synthesized stack, asserted by resource type and properties."""

from __future__ import annotations

from tests_support import GOOD_ENVIRONMENT

from envctl.definitions.project import StateSettings


def resources(stack, resource_type):
    return stack.get("resource", {}).get(resource_type, {})


def only(stack, resource_type):
    found = resources(stack, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


def test_data_volume_is_protected_and_encrypted(spec_from, synth_stack):
    stack = synth_stack(spec_from())

    volume = only(stack, "aws_ebs_volume")

    assert volume["lifecycle"] == {"prevent_destroy": True}
    assert volume["encrypted"] is True
    assert volume["size"] == 200
    assert volume["type"] == "gp3"
    assert volume["availability_zone"] == "us-east-1a"
    assert volume["tags"]["envctl:environment-id"] == "env-0a1b2c3d"


def test_volume_deletion_only_when_allowed(spec_from, synth_stack):
    stack = synth_stack(spec_from(), allow_volume_deletion=True)

    assert only(stack, "aws_ebs_volume")["lifecycle"] == {"prevent_destroy": False}


def test_instance_hardening(spec_from, synth_stack):
    instance = only(synth_stack(spec_from()), "aws_instance")

    assert instance["metadata_options"] == {"http_endpoint": "enabled", "http_tokens": "required"}
    assert instance["root_block_device"]["encrypted"] is True
    assert instance["instance_initiated_shutdown_behavior"] == "stop"
    assert instance["instance_type"] == "g5.xlarge"
    assert instance["ami"] == "ami-0123456789abcdef0"
    assert instance["tags"]["owner"] == "alice"
    assert instance["tags"]["environment"] == "sd-box"
    assert instance["tags"]["managed-by"] == "envctl"


def test_volume_attached_to_instance(spec_from, synth_stack):
    attachment = only(synth_stack(spec_from()), "aws_volume_attachment")

    assert attachment["volume_id"] == "${aws_ebs_volume.data_volume.id}"
    assert attachment["instance_id"] == "${aws_instance.instance.id}"
    assert attachment["device_name"] == "/dev/sdf"


def test_ssh_only_from_listed_cidrs(spec_from, synth_stack):
    rules = resources(synth_stack(spec_from()), "aws_security_group_rule")

    ingress = [rule for rule in rules.values() if rule["type"] == "ingress"]
    assert len(ingress) == 1
    assert ingress[0]["cidr_blocks"] == ["203.0.113.0/24"]
    assert ingress[0]["from_port"] == ingress[0]["to_port"] == 22


def test_no_cidrs_means_no_ssh_rule(spec_from, synth_stack):
    text = GOOD_ENVIRONMENT.replace("  ssh_cidrs: [203.0.113.0/24]", "  ssh_cidrs: []")

    rules = resources(synth_stack(spec_from(text)), "aws_security_group_rule")

    assert [rule["type"] for rule in rules.values()] == ["egress"]


def test_world_ssh_only_when_allowed(spec_from, synth_stack):
    text = GOOD_ENVIRONMENT.replace(
        "  ssh_cidrs: [203.0.113.0/24]", "  ssh_cidrs: [0.0.0.0/0]\n  allow_world_ssh: true"
    )

    rules = resources(synth_stack(spec_from(text)), "aws_security_group_rule")

    ingress = [rule for rule in rules.values() if rule["type"] == "ingress"]
    assert ingress[0]["cidr_blocks"] == ["0.0.0.0/0"]


def test_outputs(spec_from, synth_stack):
    outputs = synth_stack(spec_from())["output"]

    assert set(outputs) == {"instance_id", "public_ip", "volume_id", "availability_zone"}


def test_local_state_keyed_by_id(spec_from, synth_stack, tmp_path):
    stack = synth_stack(spec_from())

    path = stack["terraform"]["backend"]["local"]["path"]
    assert path == str(tmp_path / "state" / "env-0a1b2c3d.tfstate")


def test_s3_state_keyed_by_id(spec_from, synth_stack):
    state = StateSettings(backend="s3", bucket="team-state")

    backend = synth_stack(spec_from(), state=state)["terraform"]["backend"]["s3"]

    assert backend["bucket"] == "team-state"
    assert backend["key"] == "envctl/env-0a1b2c3d/terraform.tfstate"
    assert backend["use_lockfile"] is True
    assert backend["encrypt"] is True


def test_provider_version_from_settings(spec_from, synth_stack):
    stack = synth_stack(spec_from())

    assert stack["terraform"]["required_providers"]["aws"]["version"] == ">= 3.39.0, < 7.0.0"


def test_sandbox_pins_every_endpoint_to_loopback(spec_from, synth_stack):
    endpoints = {"ec2": "http://127.0.0.1:5000", "sts": "http://127.0.0.1:5000"}

    provider = synth_stack(spec_from(), endpoints=endpoints, sandbox=True)["provider"]["aws"][0]

    assert provider["endpoints"] == [endpoints]
    assert provider["skip_metadata_api_check"] == "true"
    assert provider["access_key"] == "test"


def test_real_provider_has_no_test_credentials(spec_from, synth_stack):
    provider = synth_stack(spec_from())["provider"]["aws"][0]

    assert provider == {"region": "us-east-1",
                        "ignore_tags": [{"keys": ["envctl:last-activity"]}]}


def test_unpinned_ssm_image_uses_lookup(spec_from, synth_stack):
    parameter = (
        "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id"
    )
    text = GOOD_ENVIRONMENT.replace(
        "  ami: ami-0123456789abcdef0", f"  ssm_parameter: {parameter}"
    )

    stack = synth_stack(spec_from(text))

    lookup = stack["data"]["aws_ssm_parameter"]["image_parameter"]
    assert lookup["name"] == parameter
    assert only(stack, "aws_instance")["ami"] == "${data.aws_ssm_parameter.image_parameter.value}"


def test_pinned_image_needs_no_lookup(spec_from, synth_stack):
    text = GOOD_ENVIRONMENT.replace(
        "  ami: ami-0123456789abcdef0", "  name: ubuntu-*\n  pinned: ami-0fedcba9876543210"
    )

    stack = synth_stack(spec_from(text))

    assert "data" not in stack
    assert only(stack, "aws_instance")["ami"] == "ami-0fedcba9876543210"


def test_autostop_alarm_module(spec_from, synth_stack):
    module = synth_stack(spec_from())["module"]["idle_stop_alarm"]

    assert module["source"].endswith("idle-stop-alarm")
    assert module["instance_id"] == "${aws_instance.instance.id}"


def test_rename_keeps_addresses_and_state(spec_from, synth_stack):
    before = synth_stack(spec_from())
    after = synth_stack(spec_from(GOOD_ENVIRONMENT.replace("name: sd-box", "name: sd-renamed")))

    for resource_type, named in before["resource"].items():
        assert set(after["resource"][resource_type]) == set(named), resource_type
    assert after["terraform"]["backend"] == before["terraform"]["backend"]
    assert only(after, "aws_instance")["tags"]["Name"] == "sd-renamed"
