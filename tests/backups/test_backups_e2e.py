"""Snapshot, list, restore, clone and destroy with a final snapshot, end to end on the sandbox.

One environment is applied once per module and then snapshotted, restored and destroyed in
that order, through the CLI; a clone of it is applied too. Cost: four applies on moto, about
three minutes.
"""

from __future__ import annotations

import json

import pytest
from backups_support import write_project
from click.testing import CliRunner
from e2e_support import workspace_for

from envctl.cli.main import cli
from envctl.definitions.loader import load_project

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def applied(tmp_path_factory, sandbox):
    """The backup box planned and applied on a fresh cloud; the CLI finds the sandbox too."""
    from envctl.planning.run import apply_plans, plan_environments
    from envctl.sandbox import reset_cloud
    from envctl.sandbox.record import write_record

    reset_cloud(sandbox)
    root = write_project(tmp_path_factory.mktemp("backups") / "project")
    write_record(root, sandbox)
    workspace = workspace_for(root, sandbox)
    plans = plan_environments(workspace, workspace.project.environments, root / "plans")
    results = apply_plans(workspace, plans)
    return workspace, results[0].outputs["volume_id"]


def envctl(workspace, *args, exit_code=0):
    result = CliRunner().invoke(cli, ["--project", str(workspace.project.root), *args],
                                env=workspace.env)
    assert result.exit_code == exit_code, result.stderr
    return result


def volume(workspace, volume_id):
    ec2 = workspace.client("ec2", "us-east-1")
    return ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]


@pytest.fixture(scope="module")
def snapshot_taken(applied):
    """`envctl snapshot` with a note, and the snapshot id it printed."""
    workspace, _ = applied
    result = envctl(workspace, "--output", "json", "snapshot", "backup-box", "--sandbox",
                    "--note", "before upgrading CUDA")
    return result


@pytest.fixture(scope="module")
def restored(applied, snapshot_taken):
    """`envctl restore` from the snapshot, and the data it printed."""
    workspace, _ = applied
    snapshot_id = json.loads(snapshot_taken.stdout)["snapshot_id"]
    result = envctl(workspace, "restore", "backup-box", "--snapshot", snapshot_id, "--sandbox",
                    "--yes")
    return snapshot_id, result


def test_snapshot_waits_and_tags(applied, snapshot_taken):
    workspace, volume_id = applied
    data = json.loads(snapshot_taken.stdout)

    assert data["state"] == "completed"
    assert data["volume_id"] == volume_id
    assert data["note"] == "before upgrading CUDA"
    assert data["environment_id"] == "env-b4c0ffee"
    assert f"{data['snapshot_id']}: 100%" in snapshot_taken.stderr


def test_snapshots_lists_note_size_and_cost(applied, snapshot_taken):
    workspace, _ = applied
    snapshot_id = json.loads(snapshot_taken.stdout)["snapshot_id"]

    result = envctl(workspace, "snapshots", "backup-box", "--sandbox")

    row = next(line for line in result.stdout.splitlines() if line.startswith(snapshot_id))
    assert "20 GiB" in row
    assert "before upgrading CUDA" in row
    assert row.split()[-3:] == ["manual", "completed", "$1.00"]
    assert "$0.05/GB-month" in result.stdout


def test_restore_rejects_unknown_snapshot(applied):
    workspace, _ = applied

    result = envctl(workspace, "restore", "backup-box", "--snapshot", "snap-0123456789abcdef0",
                    "--sandbox", "--yes", exit_code=1)

    assert result.stderr.strip() == ("error: snapshot snap-0123456789abcdef0 not found in "
                                     "us-east-1; list them with `envctl snapshots ENV`")


def test_restore_labels_plan_and_keeps_old_volume(applied, restored):
    workspace, old_volume_id = applied
    snapshot_id, result = restored

    label = (f"data impact: volume replaced by restore from {snapshot_id}; old volume "
             f"{old_volume_id} kept")
    assert label in result.stderr
    assert f"old volume {old_volume_id} kept" in result.stdout
    old = volume(workspace, old_volume_id)
    tags = {tag["Key"]: tag["Value"] for tag in old["Tags"]}
    assert old["State"] == "available"
    assert tags["envctl:retired-from"] == "env-b4c0ffee"
    assert "envctl:environment-id" not in tags


def test_restored_volume_comes_from_snapshot(applied, restored):
    from envctl.planning.run import retained_volume_id

    workspace, old_volume_id = applied
    snapshot_id, _ = restored
    workspace.project = load_project(workspace.project.root)
    spec = workspace.project.environment("backup-box")

    volume_id = retained_volume_id(workspace, spec)

    assert volume_id != old_volume_id
    assert volume(workspace, volume_id)["SnapshotId"] == snapshot_id
    assert volume(workspace, volume_id)["Attachments"][0]["State"] == "attached"
    assert spec.volume.snapshot_id == snapshot_id


def test_plan_after_restore_has_no_changes(applied, restored):
    workspace, _ = applied

    result = envctl(workspace, "plan", "backup-box", "--sandbox", "--detailed-exitcode")

    assert result.stdout.strip() == "backup-box: no changes"


def test_clone_starts_from_fresh_snapshot(applied, restored):
    from envctl.backups.clone import clone_environment
    from envctl.planning.run import apply_plans, plan_environments

    workspace, _ = applied
    workspace.project = load_project(workspace.project.root)

    created = clone_environment(workspace, "backup-box", "backup-copy", owner="bob")
    spec = workspace.project.environment("backup-copy")
    outputs = apply_plans(workspace, plan_environments(workspace, [spec],
                                                       workspace.plans_dir))[0].outputs

    assert created.copied_from == "backup-box"
    assert created.snapshot.kind == "clone"
    assert spec.id != "env-b4c0ffee"
    assert spec.owner == "bob"
    assert spec.volume.snapshot_id == created.snapshot.snapshot_id
    assert volume(workspace, outputs["volume_id"])["SnapshotId"] == created.snapshot.snapshot_id
    assert "# A CPU box whose data volume is backed up." in created.path.read_text()


def test_from_snapshot_copies_source_definition(applied, restored):
    from envctl.backups.clone import environment_from_snapshot

    workspace, _ = applied
    snapshot_id, _ = restored
    workspace.project = load_project(workspace.project.root)

    created = environment_from_snapshot(workspace, "backup-teammate", snapshot_id)
    spec = workspace.project.environment("backup-teammate")

    assert created.copied_from == "backup-box"
    assert spec.volume.snapshot_id == snapshot_id
    assert spec.volume.size_gb == 20
    assert spec.backup is not None


def test_destroy_takes_final_snapshot(applied, restored):
    from envctl.planning.run import retained_volume_id

    workspace, _ = applied
    workspace.project = load_project(workspace.project.root)
    spec = workspace.project.environment("backup-box")
    volume_id = retained_volume_id(workspace, spec)

    result = envctl(workspace, "--output", "json", "destroy", "backup-box", "--delete-volume",
                    "--sandbox", "--yes")
    listed = envctl(workspace, "--output", "json", "snapshots", "backup-box", "--sandbox")

    final_id = json.loads(result.stdout)["final_snapshot_id"]
    assert "a final snapshot is taken before the volume is deleted" in result.stderr
    assert f"{final_id}: 100%" in result.stderr
    ec2 = workspace.client("ec2", "us-east-1")
    remaining = ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [volume_id]}])
    assert remaining["Volumes"] == []
    final = next(item for item in json.loads(listed.stdout) if item["snapshot_id"] == final_id)
    assert final["kind"] == "final"
    assert final["volume_id"] == volume_id
    assert final["state"] == "completed"
    again = envctl(workspace, "snapshot", "backup-box", "--sandbox", exit_code=1)
    assert "no data volume tagged envctl:environment-id=env-b4c0ffee" in again.stderr
    assert "envctl apply backup-box" in again.stderr
