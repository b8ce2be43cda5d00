"""The snapshot schedule's settings and plan summary, as pure functions of the spec."""

from __future__ import annotations

import json

import pytest
from backups_support import BACKUP_ENVIRONMENT

from envctl.backups.policy import (
    SANDBOX_NOTE,
    backup_policy_settings,
    backup_role_settings,
    backup_summary,
    policy_included,
)


def plan_with(*changes: tuple[str, list[str]]) -> dict:
    """Plan JSON holding resource_changes of the given types and actions."""
    return {"resource_changes": [
        {"address": f"{kind}.x", "type": kind, "mode": "managed", "change": {"actions": actions}}
        for kind, actions in changes
    ]}


def test_policy_targets_volume_by_environment_tag(backup_spec):
    settings = backup_policy_settings(backup_spec())
    details = settings["policy_details"]

    assert details["resource_types"] == ["VOLUME"]
    assert details["target_tags"] == {"envctl:environment-id": "env-b4c0ffee"}
    assert settings["state"] == "ENABLED"
    assert settings["description"] == "envctl backups of backup-box env-b4c0ffee"


def test_policy_schedule_and_retention(backup_spec):
    schedule = backup_policy_settings(backup_spec())["policy_details"]["schedule"]

    assert len(schedule) == 1
    assert schedule[0]["create_rule"] == {"interval": 12, "interval_unit": "HOURS",
                                          "times": ["04:30"]}
    assert schedule[0]["retain_rule"] == {"count": 14}
    assert schedule[0]["copy_tags"] is True
    assert schedule[0]["tags_to_add"] == {"envctl:snapshot-kind": "scheduled"}


def test_schedule_name_stays_when_interval_changes(backup_spec):
    daily = BACKUP_ENVIRONMENT.replace("every: 12h", "every: daily")

    first = backup_policy_settings(backup_spec())["policy_details"]["schedule"][0]["name"]
    second = backup_policy_settings(backup_spec(daily))["policy_details"]["schedule"][0]["name"]

    assert first == second


def test_policy_text_fits_dlm_pattern(backup_spec):
    import re

    settings = backup_policy_settings(backup_spec())
    allowed = re.compile(r"^[0-9A-Za-z _-]+$")

    assert allowed.match(settings["description"])
    assert allowed.match(settings["policy_details"]["schedule"][0]["name"])


def test_role_trusts_only_dlm(backup_spec):
    settings = backup_role_settings(backup_spec())
    trust = json.loads(settings["assume_role_policy"])

    assert settings["name"] == "envctl-env-b4c0ffee-backup"
    assert len(settings["name"]) <= 64
    assert trust["Statement"] == [{"Action": "sts:AssumeRole", "Effect": "Allow",
                                   "Principal": {"Service": "dlm.amazonaws.com"}}]


def test_policy_settings_need_schedule(backup_spec):
    final_only = BACKUP_ENVIRONMENT.split("backup:")[0] + "backup:\n  final_snapshot: true\n"
    spec = backup_spec(final_only)

    with pytest.raises(ValueError, match="no backup schedule"):
        backup_policy_settings(spec)


@pytest.mark.parametrize("sandbox,requested,expected", [
    (False, None, True),
    (True, None, False),
    (True, True, True),
    (False, False, False),
])
def test_policy_included(backup_spec, sandbox, requested, expected):
    assert policy_included(backup_spec(), sandbox, requested) is expected


def test_policy_never_without_schedule(backup_spec):
    spec = backup_spec(BACKUP_ENVIRONMENT.split("backup:")[0])

    assert policy_included(spec, sandbox=False, requested=True) is False


def test_summary_names_schedule_and_final_snapshot(backup_spec):
    plan = plan_with(("aws_dlm_lifecycle_policy", ["create"]))

    summary = backup_summary(backup_spec(), plan, destroy=False)

    assert summary == ("snapshots every 12h from 04:30 UTC, keep the newest 14; final snapshot "
                       "before the volume is deleted")


def test_summary_says_when_policy_left_out(backup_spec):
    plan = plan_with(("aws_ebs_volume", ["create"]))

    summary = backup_summary(backup_spec(), plan, destroy=False)

    assert SANDBOX_NOTE in summary


def test_summary_counts_unchanged_policy(backup_spec):
    plan = plan_with(("aws_dlm_lifecycle_policy", ["no-op"]))

    assert SANDBOX_NOTE not in backup_summary(backup_spec(), plan, destroy=False)


def test_destroy_summary(backup_spec):
    plan = plan_with(("aws_dlm_lifecycle_policy", ["delete"]), ("aws_ebs_volume", ["delete"]))

    summary = backup_summary(backup_spec(), plan, destroy=True)

    assert summary == ("the snapshot schedule stops; its snapshots stay; a final snapshot is "
                       "taken before the volume is deleted")


def test_destroy_keeping_volume_takes_no_final_snapshot(backup_spec):
    plan = plan_with(("aws_instance", ["delete"]))

    assert backup_summary(backup_spec(), plan, destroy=True) is None


def test_no_summary_without_backup(backup_spec):
    spec = backup_spec(BACKUP_ENVIRONMENT.split("backup:")[0])

    assert backup_summary(spec, plan_with(), destroy=False) is None
