"""The data-impact label on plan JSON that the sandbox's provider 3.39.0 cannot produce.

The e2e edit table covers 3.39.0. Provider 4.x and later update user data in place, so
envctl's stacks replace the instance through replace_triggered_by there. The plans below
follow the `terraform show -json` format for those cases.
"""

from __future__ import annotations

from envctl.planning.impact import data_impact


def instance_change(actions: list[str], before: dict, after: dict, **extra: object) -> dict:
    return {"address": "aws_instance.instance", "mode": "managed", "type": "aws_instance",
            "change": {"actions": actions, "before": before, "after": after, **extra}}


def test_user_data_trigger_replaces_box() -> None:
    change = instance_change(["delete", "create"], {"user_data_base64": "H4sIAAAA"},
                             {"user_data_base64": "H4sIBBBB"})
    change["action_reason"] = "replace_by_triggers"

    impact = data_impact({"resource_changes": [change]})

    assert (impact.volume, impact.root_disk, impact.box) == ("kept", "replaced", "replaced")
    assert impact.reasons == ("aws_instance.instance will be replaced (replace_triggered_by, "
                              "user_data_base64 changed)",)


def test_user_data_in_place_restarts_box() -> None:
    change = instance_change(["update"], {"user_data_base64": "H4sIAAAA"},
                             {"user_data_base64": "H4sIBBBB"})

    impact = data_impact({"resource_changes": [change]})

    assert (impact.volume, impact.root_disk, impact.box) == ("kept", "kept", "restarted")


def test_tags_alone_leave_box_untouched() -> None:
    change = instance_change(["update"], {"tags": {"team": "vision"}},
                             {"tags": {"team": "ml"}})

    impact = data_impact({"resource_changes": [change]})

    assert impact.box == "untouched"
    assert impact.reasons == ("aws_instance.instance will be updated in place (tags)",)
