"""Reading DescribeSnapshots entries, and the table `envctl snapshots` prints."""

from __future__ import annotations

from datetime import UTC, datetime

from envctl.backups.snapshots import snapshot_from
from envctl.cli.snapshots import snapshot_table

STARTED = datetime(2026, 3, 1, 4, 30, tzinfo=UTC)


def description(**overrides):
    """One entry of DescribeSnapshots, shaped as boto3 returns it."""
    entry = {
        "SnapshotId": "snap-0123456789abcdef0",
        "VolumeId": "vol-0123456789abcdef0",
        "StartTime": STARTED,
        "State": "completed",
        "Progress": "100%",
        "VolumeSize": 20,
        "Encrypted": True,
        "StorageTier": "standard",
        "Tags": [
            {"Key": "envctl:environment-id", "Value": "env-b4c0ffee"},
            {"Key": "envctl:snapshot-kind", "Value": "manual"},
            {"Key": "envctl:note", "Value": "before upgrading CUDA"},
        ],
    }
    entry.update(overrides)
    return entry


def test_snapshot_from_description():
    snapshot = snapshot_from(description(), "us-east-1")

    assert snapshot.environment_id == "env-b4c0ffee"
    assert snapshot.note == "before upgrading CUDA"
    assert snapshot.kind == "manual"
    assert snapshot.size_gib == 20
    assert snapshot.volume_size_gib == 20
    assert snapshot.monthly_cost == 1.0


def test_full_size_beats_volume_size():
    snapshot = snapshot_from(description(FullSnapshotSizeInBytes=3 * 1024**3 + 1), "us-east-1")

    assert snapshot.size_gib == 4
    assert snapshot.volume_size_gib == 20


def test_dlm_snapshot_counts_as_scheduled():
    tags = [{"Key": "aws:dlm:lifecycle-policy-id", "Value": "policy-0123"}]

    assert snapshot_from(description(Tags=tags), "us-east-1").kind == "scheduled"


def test_archived_snapshot_priced_at_archive_tier():
    snapshot = snapshot_from(description(StorageTier="archive", VolumeSize=100), "us-east-1")

    assert snapshot.monthly_cost == 1.25


def test_table_rows_and_price_note():
    pending = description(SnapshotId="snap-0123456789abcdef1", State="pending", Progress="40%",
                          Tags=[])
    rows = [snapshot_from(description(), "us-east-1"), snapshot_from(pending, "us-east-1")]

    lines = snapshot_table("backup-box", "us-east-1", rows).splitlines()

    assert lines[0].split() == ["SNAPSHOT", "STARTED", "(UTC)", "SIZE", "NOTE", "KIND", "STATE",
                                "MAX", "$/MONTH"]
    assert lines[1].split() == ["snap-0123456789abcdef0", "2026-03-01", "04:30", "20", "GiB",
                                "before", "upgrading", "CUDA", "manual", "completed", "$1.00"]
    assert lines[2].split() == ["snap-0123456789abcdef1", "2026-03-01", "04:30", "20", "GiB",
                                "-", "other", "pending", "40%", "$1.00"]
    assert "$0.05/GB-month for standard snapshots in us-east-1" in lines[3]
    assert lines[4] == "Restore one with: envctl restore backup-box --snapshot SNAPSHOT"


def test_table_without_price():
    rows = [snapshot_from(description(), "ap-south-2")]

    text = snapshot_table("backup-box", "ap-south-2", rows)

    assert text.splitlines()[1].endswith("completed  -")
    assert "No snapshot price for ap-south-2" in text


def test_empty_table_says_how_to_take_one():
    assert snapshot_table("backup-box", "us-east-1", []) == (
        "backup-box: no snapshots yet; take one with: envctl snapshot backup-box")
