"""The backup block: what it accepts, and one clear line for each schedule or retention
that Data Lifecycle Manager would reject."""

from __future__ import annotations

import pytest
from backups_support import BACKUP_ENVIRONMENT, write_project
from click.testing import CliRunner

from envctl.cli.main import cli

SCHEDULE = """\
backup:
  schedule:
    every: 12h
    at: "04:30"
  retain:
    days: 7
  final_snapshot: true
"""

# (case, backup block, expected pieces of the error line)
BAD_BACKUPS = [
    ("interval DLM lacks", "backup:\n  schedule:\n    every: 5h\n",
     ["backup-box.yaml:16", "backup.schedule.every", "'5h' is not a schedule",
      "use daily or one of 1h, 2h, 3h, 4h, 6h, 8h, 12h"]),
    ("interval without unit", "backup:\n  schedule:\n    every: 12\n",
     ["backup.schedule.every", "12 has no unit", "write 12h"]),
    ("interval as words", "backup:\n  schedule:\n    every: weekly\n",
     ["backup.schedule.every", "'weekly' is not a schedule"]),
    ("time out of range", 'backup:\n  schedule:\n    at: "25:00"\n',
     ["backup-box.yaml:16", "backup.schedule.at", "'25:00' is not a time of day", "HH:MM in UTC"]),
    ("time without minutes", 'backup:\n  schedule:\n    at: "3"\n',
     ["backup.schedule.at", "'3' is not a time of day"]),
    ("count and days", "backup:\n  schedule: daily\n  retain:\n    count: 3\n    days: 3\n",
     ["backup-box.yaml:16", "backup.retain", "set exactly one of count or days"]),
    ("neither count nor days", "backup:\n  schedule: daily\n  retain: {}\n",
     ["backup.retain", "set exactly one of count or days"]),
    ("count zero", "backup:\n  schedule: daily\n  retain:\n    count: 0\n",
     ["backup.retain", "count 0 is outside 1-1000"]),
    ("count over DLM maximum", "backup:\n  schedule: daily\n  retain:\n    count: 1001\n",
     ["backup.retain", "count 1001 is outside 1-1000"]),
    ("days zero", "backup:\n  schedule: daily\n  retain:\n    days: 0\n",
     ["backup.retain", "days 0 is less than 1"]),
    ("days over DLM maximum", "backup:\n  schedule: 1h\n  retain:\n    days: 60\n",
     ["backup-box.yaml:14", "backup", "retain.days 60 at every 1h keeps 1440 snapshots",
      "over Data Lifecycle Manager's 1000", "keep fewer days or snapshot less often"]),
    ("retain without schedule", "backup:\n  retain:\n    count: 3\n",
     ["backup", "retain applies to scheduled snapshots", "add a schedule or remove retain"]),
    ("unknown key", "backup:\n  final_snapshots: true\n",
     ["backup.final_snapshots", "unknown key", "did you mean 'final_snapshot'?"]),
]


def with_block(block: str) -> str:
    """The backup environment with its backup block replaced by block."""
    base = BACKUP_ENVIRONMENT[:BACKUP_ENVIRONMENT.index("backup:\n")]
    return base + block


@pytest.mark.parametrize("case,block,expected", BAD_BACKUPS, ids=[row[0] for row in BAD_BACKUPS])
def test_bad_backup_is_one_clear_line(tmp_path, case, block, expected):
    root = write_project(tmp_path / "project", with_block(block))

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 1, case
    assert result.stdout.strip() == "no environments", case
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 2, result.stderr
    for piece in expected:
        assert piece in lines[0], (case, piece, lines[0])
    assert "Traceback" not in result.stderr


def test_malformed_snapshot_id_rejected(tmp_path):
    text = BACKUP_ENVIRONMENT.replace("  size_gb: 20\n", "  size_gb: 20\n  snapshot_id: snap-1\n")
    root = write_project(tmp_path / "project", text)

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert "backup-box.yaml:12: volume.snapshot_id" in first
    assert "'snap-1' is not a snapshot id; expected snap- and 8 to 17 hex digits" in first


def test_schedule_and_days_resolve(backup_spec):
    backup = backup_spec(with_block(SCHEDULE)).backup

    assert backup is not None
    assert backup.schedule is not None
    assert backup.schedule.every == "12h"
    assert backup.schedule.interval_hours == 12
    assert backup.schedule.at == "04:30"
    assert backup.retained_count == 14
    assert backup.final_snapshot is True


@pytest.mark.parametrize("every,hours", [("daily", 24), ("24h", 24), ("1h", 1), ("8H", 8)])
def test_schedule_shorthand(backup_spec, every, hours):
    backup = backup_spec(with_block(f"backup:\n  schedule: {every}\n")).backup

    assert backup.schedule.interval_hours == hours
    assert backup.schedule.at == "03:00"
    assert backup.retained_count == 7


def test_single_digit_hour_is_padded(backup_spec):
    backup = backup_spec(with_block('backup:\n  schedule:\n    at: "3:05"\n')).backup

    assert backup.schedule.at == "03:05"


def test_days_round_up_to_whole_snapshots(backup_spec):
    backup = backup_spec(with_block("backup:\n  schedule: 8h\n  retain:\n    days: 1\n")).backup

    assert backup.retained_count == 3


def test_final_snapshot_alone_has_no_schedule(backup_spec):
    backup = backup_spec(with_block("backup:\n  final_snapshot: true\n")).backup

    assert backup.schedule is None
    assert backup.final_snapshot is True


def test_no_backup_block(backup_spec):
    assert backup_spec(with_block("")).backup is None


def test_template_backup_merges(tmp_path):
    from envctl.definitions.loader import load_project

    root = write_project(tmp_path / "project", with_block("template: backed\nbackup:\n"
                                                          "  final_snapshot: true\n"))
    (root / "templates").mkdir()
    (root / "templates" / "backed.yaml").write_text("backup:\n  schedule: 6h\n")

    backup = load_project(root).environments[0].backup

    assert backup.schedule.interval_hours == 6
    assert backup.final_snapshot is True


def test_schema_describes_backup():
    from envctl.definitions.models import EnvironmentDefinition

    schema = EnvironmentDefinition.model_json_schema()
    fields = schema["$defs"]["BackupSpec"]["properties"]

    assert set(fields) == {"schedule", "retain", "final_snapshot"}
    assert "destroy --delete-volume" in fields["final_snapshot"]["description"]
    every = schema["$defs"]["BackupScheduleSpec"]["properties"]["every"]
    assert "daily" in every["description"]
