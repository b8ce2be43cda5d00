"""Snapshot, list, restore, clone and destroy with a final snapshot, end to end on the sandbox.

One environment is applied once per module and then snapshotted, restored and destroyed in
that order, through the CLI. Two copies made by `envctl create --clone` and `--from-snapshot`
are applied too. Cost: four rounds of applies on moto, about four minutes.
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


def envctl(workspace, *args, exit_code=0, env=None):
    result = CliRunner().invoke(cli, ["--project", str(workspace.project.root), *args],
                                env=env or workspace.env)
    assert result.exit_code == exit_code, result.stderr
    return result


def settings_env(workspace, folder, name="bob"):
    """Write a user settings file under folder; return the CLI environment that reads it."""
    (folder / "envctl").mkdir(exist_ok=True)
    (folder / "envctl" / "config.yaml").write_text(f"name: {name}\n")
    return {**workspace.env, "XDG_CONFIG_HOME": str(folder)}


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


@pytest.fixture(scope="module")
def copies(tmp_path_factory, applied, restored):
    """`envctl create --clone` and `--from-snapshot` as bob, then both copies applied."""
    from envctl.planning.run import apply_plans, plan_environments

    workspace, _ = applied
    snapshot_id, _ = restored
    as_bob = settings_env(workspace, tmp_path_factory.mktemp("xdg"))
    cloned = envctl(workspace, "--output", "json", "create", "backup-copy", "--clone",
                    "backup-box", "--sandbox", env=as_bob)
    copied = envctl(workspace, "--output", "json", "create", "backup-teammate",
                    "--from-snapshot", snapshot_id, "--sandbox", env=as_bob)
    workspace.project = load_project(workspace.project.root)
    specs = [workspace.project.environment(name) for name in ("backup-copy", "backup-teammate")]
    results = apply_plans(workspace, plan_environments(workspace, specs, workspace.plans_dir))
    volumes = {result.environment: result.outputs["volume_id"] for result in results}
    return json.loads(cloned.stdout), cloned.stderr, json.loads(copied.stdout), volumes


def test_clone_starts_from_fresh_snapshot(applied, restored, copies):
    workspace, _ = applied
    restored_snapshot, _ = restored
    cloned, progress, _, volumes = copies
    spec = workspace.project.environment("backup-copy")
    listed = json.loads(envctl(workspace, "--output", "json", "snapshots", "backup-box",
                               "--sandbox").stdout)
    clone_snapshot = next(item for item in listed
                          if item["snapshot_id"] == cloned["snapshot_id"])

    assert cloned["copied_from"] == "backup-box"
    assert cloned["owner"] == "bob"
    assert cloned["id"] == spec.id
    assert f"{cloned['snapshot_id']}: 100%" in progress
    assert cloned["snapshot_id"] != restored_snapshot
    assert clone_snapshot["kind"] == "clone"
    assert spec.id != "env-b4c0ffee"
    assert spec.owner == "bob"
    assert spec.volume.snapshot_id == cloned["snapshot_id"]
    assert volume(workspace, volumes["backup-copy"])["SnapshotId"] == cloned["snapshot_id"]
    assert "# A CPU box whose data volume is backed up." in spec.source.read_text()


def test_from_snapshot_copies_source_definition(applied, restored, copies):
    workspace, _ = applied
    snapshot_id, _ = restored
    _, _, copied, volumes = copies
    spec = workspace.project.environment("backup-teammate")

    assert copied["copied_from"] == "backup-box"
    assert copied["snapshot_id"] == snapshot_id
    assert spec.owner == "bob"
    assert spec.id not in ("env-b4c0ffee", workspace.project.environment("backup-copy").id)
    assert spec.volume.snapshot_id == snapshot_id
    assert spec.volume.size_gb == 20
    assert spec.backup is not None
    assert volume(workspace, volumes["backup-teammate"])["SnapshotId"] == snapshot_id


def test_from_unknown_snapshot_writes_nothing(applied, tmp_path):
    workspace, _ = applied
    target = workspace.project.root / "environments" / "backup-nowhere.yaml"

    result = envctl(workspace, "create", "backup-nowhere", "--from-snapshot",
                    "snap-0123456789abcdef0", "--sandbox", exit_code=1,
                    env=settings_env(workspace, tmp_path))

    assert result.stderr.strip() == ("error: snapshot snap-0123456789abcdef0 not found in "
                                     "us-east-1; list them with `envctl snapshots ENV`")
    assert not target.exists()


@pytest.mark.parametrize("tags,words", [
    ([{"Key": "envctl:environment-id", "Value": "env-0000ffff"}],
     "was taken from environment env-0000ffff, which this project does not define"),
    ([], "has no envctl:environment-id tag, so there is no definition to copy"),
])
def test_from_foreign_snapshot_names_fix(applied, tmp_path, tags, words):
    workspace, _ = applied
    ec2 = workspace.client("ec2", "us-east-1")
    source = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    arguments = {"TagSpecifications": [{"ResourceType": "snapshot", "Tags": tags}]} if tags else {}
    snapshot_id = ec2.create_snapshot(VolumeId=source, **arguments)["SnapshotId"]
    target = workspace.project.root / "environments" / "backup-foreign.yaml"

    result = envctl(workspace, "create", "backup-foreign", "--from-snapshot", snapshot_id,
                    "--sandbox", exit_code=1, env=settings_env(workspace, tmp_path))

    assert f"error: snapshot {snapshot_id} {words}" in result.stderr
    assert f"write {target} yourself, with volume.snapshot_id: {snapshot_id}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not target.exists()


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
