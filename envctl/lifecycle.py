"""Stop and start: boto3 calls on the environment's instance, no synthesis."""

from __future__ import annotations

from envctl.errors import EnvctlError
from envctl.inventory import describe_environments
from envctl.workspace import Workspace


def stop(workspace: Workspace, name: str) -> str:
    """Stop an environment's instance and wait until it is stopped; the volume stays."""
    spec = workspace.project.environment(name)
    status = describe_environments(workspace, [spec])[0]
    if status.instance_id is None:
        raise EnvctlError(f"{name}: no instance to stop; create it with `envctl apply {name}`")
    if status.state == "stopped":
        return f"{name}: already stopped"
    ec2 = workspace.client("ec2", spec.region)
    ec2.stop_instances(InstanceIds=[status.instance_id])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[status.instance_id],
                                            WaiterConfig={"Delay": 2, "MaxAttempts": 150})
    return f"{name}: stopped {status.instance_id}; the data volume and root disk are kept"


def start(workspace: Workspace, name: str) -> str:
    """Start a stopped environment's instance and wait until it runs."""
    spec = workspace.project.environment(name)
    status = describe_environments(workspace, [spec])[0]
    if status.instance_id is None:
        raise EnvctlError(f"{name}: no instance to start; create it with `envctl apply {name}`")
    if status.state == "running":
        return f"{name}: already running"
    ec2 = workspace.client("ec2", spec.region)
    ec2.start_instances(InstanceIds=[status.instance_id])
    ec2.get_waiter("instance_running").wait(InstanceIds=[status.instance_id],
                                            WaiterConfig={"Delay": 2, "MaxAttempts": 150})
    return f"{name}: running {status.instance_id}"
