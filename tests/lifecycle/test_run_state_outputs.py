"""Which plans count as changed: a stopped box's public_ip output alone is nothing to apply.

The plans are the parts of `terraform show -json` output that changes_to_apply reads.
"""

from __future__ import annotations

from envctl.planning.plans import changes_to_apply


def output_change(before: str, after: str) -> dict:
    return {"actions": ["update"], "before": before, "after": after, "after_unknown": False}


def test_public_ip_alone_is_no_change() -> None:
    stopped = {"public_ip": output_change("192.0.2.7", "")}
    plan = {"resource_changes": [], "output_changes": stopped}

    assert not changes_to_apply(plan)


def test_other_output_change_counts() -> None:
    plan = {"resource_changes": [], "output_changes": {
        "public_ip": output_change("192.0.2.7", ""),
        "volume_id": output_change("vol-0aaa", "vol-0bbb")}}

    assert changes_to_apply(plan)


def test_resource_change_counts() -> None:
    change = {"address": "aws_instance.instance", "mode": "managed", "type": "aws_instance",
              "change": {"actions": ["update"]}}

    assert changes_to_apply({"resource_changes": [change]})


def test_reads_and_no_ops_are_no_change() -> None:
    read = {"address": "data.aws_ami.image", "mode": "data", "type": "aws_ami",
            "change": {"actions": ["read"]}}
    no_op = {"address": "aws_ebs_volume.data_volume", "mode": "managed", "type": "aws_ebs_volume",
            "change": {"actions": ["no-op"]}}
    unchanged = {"public_ip": {"actions": ["no-op"], "before": "", "after": ""}}

    assert not changes_to_apply({"resource_changes": [read, no_op], "output_changes": unchanged})
