"""How one command reaches AWS and Terraform: the sandbox or the real cloud, and the engine."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envctl.definitions.loader import Project
from envctl.errors import SandboxError

if TYPE_CHECKING:
    from envctl.sandbox import Sandbox

SANDBOX_VARIABLE = "ENVCTL_SANDBOX"


def sandbox_requested(flag: bool) -> bool:
    """True when --sandbox is given or ENVCTL_SANDBOX is set to a true value."""
    return flag or os.environ.get(SANDBOX_VARIABLE, "").lower() in ("1", "true", "yes")


@dataclass
class Workspace:
    """A project plus everything needed to plan and apply it."""

    project: Project
    engine_name: str
    env: dict[str, str]
    sandbox_endpoint: str | None = None
    parallelism: int = field(default_factory=lambda: os.cpu_count() or 1)
    extra_endpoints: dict[str, str] = field(default_factory=dict)

    @property
    def plans_dir(self) -> Path:
        return self.project.root / ".envctl" / "plans"

    @property
    def state_dir(self) -> Path:
        """Where the local backend keeps this workspace's state: the sandbox's apart."""
        if self.sandbox_endpoint:
            return self.project.sandbox_state_dir
        return self.project.state_dir

    def endpoint_for(self, service: str) -> str | None:
        if self.sandbox_endpoint:
            return self.sandbox_endpoint
        return self.extra_endpoints.get(service)

    def client(self, service: str, region: str, config: Any = None) -> Any:
        """A boto3 client for service that honours the sandbox and envctl.yaml endpoints.

        config is an optional botocore.config.Config (retries, user agent) for this client.
        """
        import boto3

        session = boto3.session.Session(
            profile_name=None if self.sandbox_endpoint else self.project.settings.aws.profile,
            aws_access_key_id=self.env.get("AWS_ACCESS_KEY_ID") if self.sandbox_endpoint else None,
            aws_secret_access_key=(
                self.env.get("AWS_SECRET_ACCESS_KEY") if self.sandbox_endpoint else None),
            region_name=region,
        )
        return session.client(service, endpoint_url=self.endpoint_for(service), config=config)


def open_workspace(project: Project, sandbox: bool, engine: str | None = None,
                   parallelism: int | None = None, running: Sandbox | None = None) -> Workspace:
    """Build the workspace for a command; in sandbox mode every endpoint is the local one.

    running is the sandbox to use; by default, the one recorded under the project root.
    """
    engine_name = engine or project.settings.engine
    env = dict(os.environ)
    workspace = Workspace(project=project, engine_name=engine_name, env=env,
                          extra_endpoints=dict(project.settings.aws.endpoints))
    if parallelism:
        workspace.parallelism = parallelism
    if sandbox or running is not None:
        _use_sandbox(workspace, running)
    return workspace


def _use_sandbox(workspace: Workspace, running: Sandbox | None) -> None:
    from envctl.sandbox import current
    from envctl.terraform.mirror import mirror_cli_config

    running = running or current(workspace.project.root)
    if running is None:
        raise SandboxError(
            f"the sandbox is not running for {workspace.project.root}; "
            "run `envctl sandbox up` first")
    workspace.sandbox_endpoint = running.aws_endpoint
    workspace.env.update(running.environment())
    workspace.env["TF_CLI_CONFIG_FILE"] = str(mirror_cli_config())
