"""The autostop backstop: a CloudWatch alarm that stops the box if the on-box agent dies."""

from __future__ import annotations

from importlib.resources import files

from cdktn import TerraformHclModule
from constructs import Construct

from envctl.definitions.spec import EnvironmentSpec

# The agent decides within minutes; this alarm is only a safety net, so it waits much longer.
BACKSTOP_HOURS = 3


class IdleStopAlarm(Construct):
    """The idle-stop-alarm module from modules/, wired to the instance."""

    def __init__(self, scope: Construct, construct_id: str, spec: EnvironmentSpec,
                 instance_id: str) -> None:
        super().__init__(scope, construct_id)
        TerraformHclModule(
            scope,
            "idle_stop_alarm",
            source=str(files("envctl.modules") / "idle-stop-alarm"),
            variables={
                "instance_id": instance_id,
                "region": spec.region,
                "alarm_name": f"envctl-{spec.id}-idle-backstop",
                "idle_hours": max(BACKSTOP_HOURS, -(-(spec.autostop_minutes or 0) // 60)),
            },
        )
