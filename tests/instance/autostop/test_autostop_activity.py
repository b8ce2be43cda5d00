"""The agent's activity report: the box tags its own instance with its last activity.

The signature is checked against botocore's signer. The reports go to moto, which serves both
the EC2 API and the instance metadata paths, so the whole call chain runs for real.
"""

from __future__ import annotations

import datetime
import socket
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from autostop_support import SimulatedBox, data, minute
from botocore import auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto_instances import ec2_client

from envctl.instance.autostop import agent
from envctl.instance.autostop.config import activity_report
from envctl.sandbox import Sandbox

EVERY = 5
SIGNED_AT = datetime.datetime(2026, 12, 4, 10, 30, tzinfo=datetime.UTC)
BODY = "Action=CreateTags&ResourceId.1=i-0abc&Tag.1.Key=envctl%3Alast-activity&Version=2016-11-15"


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000/", "https://ec2.eu-west-1.amazonaws.com/"])
@pytest.mark.parametrize("token", [None, "session-token"])
def test_signature_matches_botocore(monkeypatch: pytest.MonkeyPatch, url: str,
                                    token: str | None) -> None:
    credentials = {"access_key": "AKIDEXAMPLE", "secret_key": "secret/key+1", "token": token}
    ours = agent.sign_v4("POST", url, BODY, "eu-west-1", "ec2", credentials,
                         SIGNED_AT.timestamp())

    monkeypatch.setattr(auth, "get_current_datetime", lambda: SIGNED_AT.replace(tzinfo=None))
    request = AWSRequest("POST", url, data=BODY,
                         headers={"Content-Type": ours["Content-Type"]})
    signer = auth.SigV4Auth(Credentials("AKIDEXAMPLE", "secret/key+1", token), "ec2",
                            "eu-west-1")
    signer.add_auth(request)

    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["X-Amz-Date"] == request.headers["X-Amz-Date"]


def settings() -> dict:
    return {"every_minutes": EVERY, "tag": "envctl:last-activity"}


def decided(last_active: float, checked: float) -> dict:
    return {"last_active_wall": last_active, "last_check_wall": checked, "notes": []}


@pytest.mark.parametrize(("previous", "state", "stop", "due"), [
    (None, decided(minute(0), minute(0)), False, True),
    ({"activity_reported_wall": minute(0), "activity_attempt_wall": minute(0)},
     decided(minute(3), minute(3)), False, False),
    ({"activity_reported_wall": minute(0), "activity_attempt_wall": minute(0)},
     decided(minute(5), minute(5)), False, True),
    # Nothing new since the last report: no call, however long ago it was.
    ({"activity_reported_wall": minute(0), "activity_attempt_wall": minute(0)},
     decided(minute(0), minute(40)), False, False),
    # A stop reports news at once, so the tag shows the activity the box stopped after.
    ({"activity_reported_wall": minute(0), "activity_attempt_wall": minute(0)},
     decided(minute(2), minute(2)), True, True),
    ({"activity_reported_wall": None, "activity_attempt_wall": minute(1)},
     decided(minute(4), minute(4)), False, False),
], ids=["first", "within-interval", "interval-passed", "no-news", "stop", "failed-recently"])
def test_report_due(previous: dict | None, state: dict, stop: bool, due: bool) -> None:
    assert agent.report_due(settings(), state, previous, stop) is due


def test_no_activity_settings_never_reports() -> None:
    assert not agent.report_due(None, decided(minute(9), minute(9)), None, True)


@pytest.fixture
def instance_id(fresh_cloud: Sandbox) -> str:
    ec2 = ec2_client(fresh_cloud)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    reservation = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                    InstanceType="g5.xlarge")
    return str(reservation["Instances"][0]["InstanceId"])


def reporting_box(root: Path, sandbox: Sandbox, instance_id: str, **report: str) -> SimulatedBox:
    """Return a simulated box that reports to the sandbox's moto, which serves both EC2 and
    the metadata paths."""
    activity = activity_report("us-east-1", {"ec2": sandbox.aws_endpoint})
    (root / "instance-id").write_text(instance_id + "\n")
    activity.update(metadata_url=sandbox.aws_endpoint, instance_id_path=str(root / "instance-id"))
    activity.update(report)
    return SimulatedBox(root, activity=activity)


def activity_tag(sandbox: Sandbox, instance_id: str) -> str | None:
    ec2 = boto3.client("ec2", **sandbox.client_settings("us-east-1"))
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}.get(
        "envctl:last-activity")


def busy_gpu_until(box: SimulatedBox, last_busy_minute: int) -> Callable[[int], None]:
    def before(number: int) -> None:
        busy = number <= last_busy_minute
        sample = "nvidia-smi-1gpu.csv" if busy else "nvidia-smi-4gpu-idle.csv"
        box.record("nvidia-smi", data(sample))

    return before


def test_training_box_reports_its_last_activity(tmp_path: Path, fresh_cloud: Sandbox,
                                                instance_id: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    box = reporting_box(tmp_path, fresh_cloud, instance_id)
    stopped_at = box.run(range(0, 60), busy_gpu_until(box, 12))

    reports = [record.message for record in caplog.records
               if "reported last activity" in record.message]
    # Minute 0 (boot), 5 and 10 while busy; 15 carries minute 12; nothing while idle.
    assert len(reports) == 4, reports
    assert activity_tag(fresh_cloud, instance_id) == agent.utc(minute(12))
    assert stopped_at == 12 + 30
    assert box.state()["activity_reported_wall"] == minute(12)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_failed_report_still_stops(tmp_path: Path, fresh_cloud: Sandbox,
                                                          instance_id: str,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    box = reporting_box(tmp_path, fresh_cloud, instance_id,
                        metadata_url=f"http://127.0.0.1:{closed_port()}")

    stopped_at = box.run(range(0, 60))

    assert stopped_at == 30
    failures = [record.message for record in caplog.records
                if "activity report failed" in record.message]
    # The unreported activity is tried again once per interval, and once more at the stop.
    assert len(failures) == 30 // EVERY + 1, failures
    assert "metadata token" in failures[0]
    assert activity_tag(fresh_cloud, instance_id) is None


def test_report_names_the_ec2_error(tmp_path: Path, fresh_cloud: Sandbox) -> None:
    box = reporting_box(tmp_path, fresh_cloud, "not-an-instance")
    box.tick(0)
    notes = box.state()["notes"]
    prefix = "activity report failed: CreateTags: HTTP"
    failed = [note for note in notes if note.startswith(prefix)]
    assert failed, notes
