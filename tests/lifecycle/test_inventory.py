"""describe_environments: one paginated DescribeInstances call, mapped back to the specs."""

from __future__ import annotations

import datetime

from lifecycle_support import CapacityProxy, ec2_client, launch

from envctl.definitions.loader import load_project
from envctl.inventory import (
    PROBE_USER_AGENT,
    describe_environments,
    gpu_label,
    instances_by_environment,
    parse_time,
)
from envctl.workspace import open_workspace


def test_inventory_one_call_for_all(project, fresh_cloud):
    specs = load_project(project).environments
    launch(fresh_cloud, specs[0])
    launch(fresh_cloud, specs[1], stopped=True)

    with CapacityProxy(fresh_cloud) as proxy:
        workspace = open_workspace(load_project(project), sandbox=True,
                                   running=proxy.sandbox_behind())
        statuses = describe_environments(workspace, specs)

    assert proxy.actions() == ["DescribeInstances"]
    assert [status.name for status in statuses] == [spec.name for spec in specs]
    assert statuses[0].state == "running"
    assert statuses[1].state == "stopped"
    assert {status.state for status in statuses[2:]} == {"absent"}


def test_inventory_calls_carry_probe_marker(project, fresh_cloud):
    with CapacityProxy(fresh_cloud) as proxy:
        workspace = open_workspace(load_project(project), sandbox=True,
                                   running=proxy.sandbox_behind())
        describe_environments(workspace, workspace.project.environments)

    user_agents = [agent for _, agent in proxy.requests]
    assert user_agents
    assert all(PROBE_USER_AGENT in agent for agent in user_agents), user_agents


def test_inventory_reads_every_page(project, fresh_cloud):
    specs = load_project(project).environments
    launched = {spec.id: launch(fresh_cloud, spec).instance_id for spec in specs}

    with CapacityProxy(fresh_cloud) as proxy:
        workspace = open_workspace(load_project(project), sandbox=True,
                                   running=proxy.sandbox_behind())
        ec2 = workspace.client("ec2", "us-east-1")
        found = instances_by_environment(ec2, list(launched), page_size=5)

    assert proxy.actions() == ["DescribeInstances", "DescribeInstances"]
    assert {key: value["InstanceId"] for key, value in found.items()} == launched


def test_inventory_prefers_running_instance(project, fresh_cloud, workspace):
    spec = workspace.project.environment("go-dev")
    launch(fresh_cloud, spec, stopped=True)
    running = launch(fresh_cloud, spec)
    launch(fresh_cloud, spec, stopped=True)

    status = describe_environments(workspace, [spec])[0]

    assert status.state == "running"
    assert status.instance_id == running.instance_id


def test_inventory_reports_type_drift(project, fresh_cloud, workspace):
    spec = workspace.project.environment("whisper")
    launch(fresh_cloud, spec, instance_type="g6.xlarge")

    status = describe_environments(workspace, [spec])[0]

    assert status.type_drift
    assert status.instance_type == "g6.xlarge"
    assert status.defined_type == spec.instance_type


def test_inventory_prices_follow_state(project, fresh_cloud, workspace):
    running_spec = workspace.project.environment("python-cpu")
    stopped_spec = workspace.project.environment("whisper")
    launch(fresh_cloud, running_spec)
    launch(fresh_cloud, stopped_spec, stopped=True)
    absent_spec = workspace.project.environment("rust-dev")

    running, stopped, absent = describe_environments(
        workspace, [running_spec, stopped_spec, absent_spec])

    assert running.hourly_cost == running.hourly_price
    assert running.hourly_price is not None and running.hourly_price > 0
    assert stopped.hourly_cost == 0.0
    assert stopped.hourly_price is not None and stopped.hourly_price > 0
    assert absent.hourly_cost == 0.0
    assert stopped.storage_gb == stopped_spec.volume.size_gb + 100


def test_inventory_reads_last_activity_tag(project, fresh_cloud, workspace):
    spec = workspace.project.environment("python-cpu")
    launched = launch(fresh_cloud, spec)
    ec2_client(fresh_cloud).create_tags(
        Resources=[launched.instance_id],
        Tags=[{"Key": "envctl:last-activity", "Value": "2026-12-04T10:00:00Z"}])

    status = describe_environments(workspace, [spec])[0]

    assert status.last_activity == datetime.datetime(2026, 12, 4, 10, tzinfo=datetime.UTC)


def test_uptime_only_while_running(project, fresh_cloud, workspace):
    spec = workspace.project.environment("python-cpu")
    launch(fresh_cloud, spec)
    status = describe_environments(workspace, [spec])[0]
    later = status.launch_time + datetime.timedelta(hours=2)

    assert status.uptime(later) == datetime.timedelta(hours=2)

    ec2_client(fresh_cloud).stop_instances(InstanceIds=[status.instance_id])
    stopped = describe_environments(workspace, [spec])[0]
    assert stopped.uptime(later) is None


def test_gpu_label():
    assert gpu_label("g5.12xlarge") == "4x A10G"
    assert gpu_label("t3.large") is None
    assert gpu_label("no.such") is None


def test_parse_time_converts_offset_to_utc():
    moment = parse_time("2026-12-04T10:00:00+02:00")

    assert moment == datetime.datetime(2026, 12, 4, 8, tzinfo=datetime.UTC)
    assert moment is not None and moment.isoformat() == "2026-12-04T08:00:00+00:00"


def test_parse_time_rejects_naive_and_garbage():
    assert parse_time("2026-12-04T10:00:00+02:00") is not None
    assert parse_time("2026-12-04T10:00:00") is None
    assert parse_time("yesterday") is None
    assert parse_time(None) is None
