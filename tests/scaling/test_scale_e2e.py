"""Scale, move and the data-impact label on the sandbox, with real Terraform applies.

One fixture applies two example environments at once: python-cpu (with a gp2 volume and an
image from an SSM parameter this module owns) for the edit table and the data-loss guard,
and sd-dreambooth (g5.xlarge) for the swaps and the zone move. The tests run in file order and
each starts where the previous one left its environment. About seven minutes in all, mostly
the provider waiting on volume attachments and instance stops.

Labels are for hashicorp/aws 3.39.0, where a user_data_base64 change forces a new instance.
envctl's user data (gzip-compressed, base64) carries the setup script and the autostop
settings, so those edits replace the box (and its root disk) while the data volume stays.
The name and the tags stay out of it, so a rename or a tag edit updates tags in place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from e2e_support import copy_examples, workspace_for
from scaling_support import TypeCapacityProxy, drop_secrets, instance_of, keep_only, volumes_of

from envctl.cli.main import cli
from envctl.definitions.editing import set_field
from envctl.definitions.loader import load_project
from envctl.errors import DataLossRefused, DefinitionError
from envctl.lifecycle import start, stop
from envctl.moving import retired_volumes
from envctl.planning.run import apply_plans, plan_environments, retained_volume_id
from envctl.sandbox.record import write_record
from envctl.scaling import ScaleFailed, scale
from envctl.workspace import open_workspace

pytestmark = pytest.mark.e2e

EDITED = "python-cpu"
GPU = "sd-dreambooth"
IMAGE_PARAMETER = "/envctl-test/ubuntu-22.04/ami-id"
FIRST_RELEASE = "ami-0df945eb7ba3d056a"
NEXT_RELEASE = "ami-08a3ba5563e8b6ae3"


@pytest.fixture(scope="module")
def applied(tmp_path_factory, sandbox):
    """python-cpu and sd-dreambooth applied on a fresh cloud, in parallel: about a minute."""
    import boto3

    from envctl.sandbox import reset_cloud

    reset_cloud(sandbox)
    root = copy_examples(tmp_path_factory.mktemp("scale") / "project")
    keep_only(root, EDITED, GPU)
    drop_secrets(root, EDITED)
    drop_secrets(root, GPU)
    set_field(root / "templates" / "cpu-ubuntu.yaml", ("image", "ssm_parameter"),
              IMAGE_PARAMETER)
    set_field(root / "environments" / f"{EDITED}.yaml", ("volume", "type"), "gp2")
    ssm = boto3.client("ssm", **sandbox.client_settings())
    ssm.put_parameter(Name=IMAGE_PARAMETER, Value=FIRST_RELEASE, Type="String")
    write_record(root, sandbox)
    workspace = workspace_for(root, sandbox)
    apply_plans(workspace, plan_environments(workspace, workspace.project.environments,
                                             workspace.plans_dir))
    workspace.project = load_project(root)
    return workspace


# Edits to an applied environment and their labels ------------------------------------------


def publish_next_image(workspace) -> None:  # type: ignore[no-untyped-def]
    ssm = workspace.client("ssm", "us-east-1")
    ssm.put_parameter(Name=IMAGE_PARAMETER, Value=NEXT_RELEASE, Type="String", Overwrite=True)


def edit(*keys: str, value: object) -> Callable[..., None]:
    def apply_edit(workspace) -> None:  # type: ignore[no-untyped-def]
        set_field(workspace.project.environment(EDITED).source, keys, value)

    return apply_edit


# The reason a user data edit gives for replacing the box on provider 3.39.0.
USER_DATA_REPLACES = "aws_instance.instance will be replaced (user_data_base64 forces replacement)"


@dataclass(frozen=True)
class Row:
    """One edit, the label its plan must carry (volume, root disk, box), and a reason in it.

    A row that loses data is planned with allow_data_loss, the only way such a plan exists;
    test_zone_edit_without_move_refused shows the refusal without it.
    """

    edit: Callable[..., None]
    label: tuple[str, str, str]
    reason: str | None = None
    loses_data: bool = False


ROWS = {
    # The image is pinned in the file, so a new release behind the parameter changes nothing.
    "new image release": Row(publish_next_image, ("kept", "kept", "untouched")),
    "rename": Row(edit("name", value="python-dev"), ("kept", "kept", "untouched")),
    "setup change": Row(edit("setup", value="#!/bin/sh\necho changed\n"),
                        ("kept", "replaced", "replaced"), USER_DATA_REPLACES),
    "tag change": Row(edit("tags", "team", value="ml"), ("kept", "kept", "untouched")),
    "ssh cidr change": Row(edit("network", "ssh_cidrs", value=["192.0.2.0/24"]),
                           ("kept", "kept", "untouched")),
    "autostop change": Row(edit("autostop", "idle_minutes", value=120),
                           ("kept", "replaced", "replaced"), USER_DATA_REPLACES),
    "type change": Row(edit("instance", "type", value="t3.xlarge"),
                       ("kept", "kept", "restarted"),
                       "aws_instance.instance will be updated in place (instance_type)"),
    "volume grow": Row(edit("volume", "size_gb", value=80),
                       ("modified in place", "kept", "untouched"),
                       "aws_ebs_volume.data_volume will be updated in place (size)"),
    "gp2 to gp3": Row(edit("volume", "type", value="gp3"),
                      ("modified in place", "kept", "untouched")),
    # A zone edit in the file cannot keep the volume; `envctl move` is the way that does.
    "zone change": Row(edit("availability_zone", value="us-east-1b"),
                       ("replaced", "replaced", "replaced"),
                       "aws_ebs_volume.data_volume will be replaced (availability_zone forces "
                       "replacement)", loses_data=True),
}


def plan_after(workspace, change: Callable[..., None],  # type: ignore[no-untyped-def]
               allow_data_loss: tuple[str, ...] = ()):
    """Apply change to python-cpu's file, plan, and put the file back; return the plan."""
    spec = workspace.project.environment(EDITED)
    before = spec.source.read_text()
    try:
        change(workspace)
        workspace.project = load_project(workspace.project.root)
        edited = workspace.project.environment(spec.id)
        return plan_environments(workspace, [edited], workspace.plans_dir,
                                 allow_data_loss=allow_data_loss)[0]
    finally:
        spec.source.write_text(before)
        workspace.project = load_project(workspace.project.root)


@pytest.mark.parametrize("case", list(ROWS))
def test_edit_has_expected_label(applied, case):
    row = ROWS[case]

    plan = plan_after(applied, row.edit, (EDITED,) if row.loses_data else ())

    impact = plan.impact
    assert (impact.volume, impact.root_disk, impact.box) == row.label, impact.reasons
    assert impact.loses_data == row.loses_data
    if row.reason:
        assert row.reason in impact.reasons
    assert plan.has_changes == (case != "new image release")
    volume_action = dict(plan.changes).get("aws_ebs_volume.data_volume")
    if row.loses_data:
        assert volume_action == "replace"
    else:
        assert volume_action in (None, "update")


def test_shrink_rejected_before_terraform(applied):
    with pytest.raises(DefinitionError) as raised:
        plan_after(applied, edit("volume", "size_gb", value=40))

    message = str(raised.value)
    assert f"{EDITED}.yaml:" in message
    assert "volume.size_gb: 40 GiB is smaller than the volume's current 50 GiB" in message
    assert message.endswith("EBS volumes cannot shrink; set size_gb to 50 or more")


def test_zone_edit_without_move_refused(applied):
    with pytest.raises(DataLossRefused) as raised:
        plan_after(applied, edit("availability_zone", value="us-east-1b"))

    message = str(raised.value)
    assert "aws_ebs_volume.data_volume will be replaced (availability_zone forces " in message
    assert f"envctl move {EDITED} --zone us-east-1b" in message
    assert f"--allow-data-loss {EDITED}" in message


def test_forced_replacement_needs_allow_data_loss(applied):
    workspace = applied
    spec = workspace.project.environment(EDITED)
    volume_id = retained_volume_id(workspace, spec)
    set_field(spec.source, ("volume", "encrypted"), False)
    base = ["--project", str(workspace.project.root), "apply", EDITED, "--sandbox", "--yes"]

    refused = CliRunner().invoke(cli, base, env=workspace.env)
    allowed = CliRunner().invoke(cli, [*base, "--allow-data-loss", EDITED], env=workspace.env)

    assert refused.exit_code == 1
    assert "aws_ebs_volume.data_volume will be replaced (encrypted forces replacement)" in (
        refused.stderr)
    assert "set volume encrypted back to true" in refused.stderr
    assert allowed.exit_code == 0, allowed.stderr
    assert "data impact: volume replaced" in allowed.stderr
    workspace.project = load_project(workspace.project.root)
    assert retained_volume_id(workspace, workspace.project.environment(EDITED)) != volume_id


# Swaps: GPU to CPU and back, and one that fails -------------------------------------------


def test_round_trip_keeps_volume_id(applied):
    workspace = applied
    spec = workspace.project.environment(GPU)
    volume_id = retained_volume_id(workspace, spec)
    base = ["--project", str(workspace.project.root), "--output", "json"]

    to_cpu = CliRunner().invoke(cli, [*base, "scale", GPU, "--type", "t3.large", "--apply",
                                      "--yes", "--sandbox"], env=workspace.env)

    assert to_cpu.exit_code == 0, to_cpu.stderr
    report = json.loads(to_cpu.stdout)
    assert report["volume_before"] == report["volume_after"] == volume_id
    assert report["state"] == "running"
    assert report["plan"]["changes"] == [["aws_instance.instance", "update"]]
    assert report["plan"]["impact"]["label"] == "volume kept, root disk kept, box restarted"
    assert report["plan"]["impact"]["reasons"] == [
        "aws_instance.instance will be updated in place (instance_type)"]
    assert "Preflight for t3.large: passed" in to_cpu.stderr
    assert "data impact: volume kept, root disk kept, box restarted" in to_cpu.stderr
    assert f"envctl scale {GPU} --type g5.xlarge --apply" in to_cpu.stderr
    assert instance_of(workspace, GPU)["InstanceType"] == "t3.large"

    workspace.project = load_project(workspace.project.root)
    stop(workspace, GPU)
    back = scale(workspace, GPU, "g5.xlarge")

    assert back.plan.impact.volume == "kept"
    assert back.plan.impact.box == "restarted"
    assert back.plan.changes == (("aws_instance.instance", "update"),)
    assert back.volume_before == back.volume_after == volume_id
    assert back.state_after == "stopped"
    instance = instance_of(workspace, GPU)
    assert instance["InstanceType"] == "g5.xlarge"
    assert instance["State"]["Name"] == "stopped"
    assert retained_volume_id(workspace, workspace.project.environment(GPU)) == volume_id
    assert workspace.project.environment(GPU).instance_type == "g5.xlarge"


def test_failed_swap_restores_type_and_run_state(applied, sandbox):
    workspace = applied
    workspace.project = load_project(workspace.project.root)
    if instance_of(workspace, GPU)["State"]["Name"] != "running":
        start(workspace, GPU)
    spec = workspace.project.environment(GPU)
    text_before = spec.source.read_text()
    volume_id = retained_volume_id(workspace, spec)

    with TypeCapacityProxy(sandbox, no_capacity={"t3.xlarge"}) as proxy:
        behind = open_workspace(load_project(workspace.project.root), sandbox=True,
                                running=proxy.sandbox_behind())
        with pytest.raises(ScaleFailed) as raised:
            scale(behind, GPU, "t3.xlarge")

    assert "t3.xlarge" in proxy.refused
    message = str(raised.value)
    assert "InsufficientInstanceCapacity" in message
    assert "restored g5.xlarge, running" in message
    assert spec.source.read_text() == text_before
    instance = instance_of(workspace, GPU)
    assert instance["InstanceType"] == "g5.xlarge"
    assert instance["State"]["Name"] == "running"
    assert retained_volume_id(workspace, spec) == volume_id


# Moving to another availability zone ---------------------------------------------------


def test_zone_move_goes_through_snapshot(applied):
    workspace = applied
    workspace.project = load_project(workspace.project.root)
    old_volume = retained_volume_id(workspace, workspace.project.environment(GPU))
    base = ["--project", str(workspace.project.root)]

    moved = CliRunner().invoke(cli, [*base, "move", GPU, "--zone", "us-east-1b", "--yes",
                                     "--sandbox"], env=workspace.env)

    assert moved.exit_code == 0, moved.stderr
    workspace.project = load_project(workspace.project.root)
    spec = workspace.project.environment(GPU)
    new_volume = retained_volume_id(workspace, spec)
    volumes = {volume["VolumeId"]: volume for volume in volumes_of(workspace, GPU)}
    snapshot = spec.volume.snapshot_id
    assert snapshot is not None and snapshot.startswith("snap-")
    assert new_volume != old_volume
    assert set(volumes) == {old_volume, new_volume}
    assert volumes[old_volume]["AvailabilityZone"] == "us-east-1a"
    assert volumes[old_volume]["State"] == "available"
    assert volumes[new_volume]["AvailabilityZone"] == "us-east-1b"
    assert volumes[new_volume]["SnapshotId"] == snapshot
    instance = instance_of(workspace, GPU)
    assert volumes[new_volume]["Attachments"][0]["InstanceId"] == instance["InstanceId"]
    assert instance["Placement"]["AvailabilityZone"] == "us-east-1b"
    assert instance["State"]["Name"] == "running"
    assert spec.availability_zone == "us-east-1b"
    assert [volume["VolumeId"] for volume in retired_volumes(workspace, spec)] == [old_volume]
    assert (f"data impact: volume moved via snapshot {snapshot}, old volume {old_volume} kept, "
            "root disk replaced, box replaced") in moved.stderr
    assert f"Old volume {old_volume} is kept in us-east-1a" in moved.stdout
    assert f"aws ec2 delete-volume --volume-id {old_volume}" in moved.stderr


def test_plan_after_move_has_no_changes(applied):
    workspace = applied
    workspace.project = load_project(workspace.project.root)

    again = plan_environments(workspace, [workspace.project.environment(GPU)],
                              workspace.plans_dir)

    assert again[0].changes == ()
