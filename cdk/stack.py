"""One TerraformStack per environment, composed of small constructs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cdktn import LocalBackend, S3Backend, TerraformOutput, TerraformStack
from cdktn_provider_aws.provider import AwsProvider
from constructs import Construct

from envctl.cdk.constructs.autostop import IdleStopAlarm
from envctl.cdk.constructs.compute import DevInstance
from envctl.cdk.constructs.image import image_id
from envctl.cdk.constructs.network import SshSecurityGroup
from envctl.cdk.constructs.storage import DataVolume
from envctl.definitions.project import StateSettings
from envctl.definitions.spec import EnvironmentSpec
from envctl.resources import provider_settings


@dataclass(frozen=True)
class StackOptions:
    """How a stack is built, beyond the spec: where state lives and how AWS is reached."""

    state: StateSettings
    state_dir: Path
    provider_version: str
    endpoints: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    sandbox: bool = False
    allow_volume_deletion: bool = False
    user_data_base64: str | None = None


class EnvironmentStack(TerraformStack):
    """The resources of one environment. Construct ids are fixed, so addresses never change."""

    def __init__(self, scope: Construct, spec: EnvironmentSpec, options: StackOptions) -> None:
        super().__init__(scope, spec.stack_name)
        self._backend(spec, options)
        AwsProvider(self, "aws", **provider_settings(
            spec.region, options.endpoints, options.profile, options.sandbox))
        self.add_override("terraform.required_providers.aws.version", options.provider_version)

        network = SshSecurityGroup(self, "network", spec)
        data = DataVolume(self, "data", spec, allow_deletion=options.allow_volume_deletion)
        compute = DevInstance(self, "compute", spec, image_id(self, spec.image),
                              network.group.id, options.user_data_base64)
        instance = compute.instance
        data.attach(self, instance.id)
        if spec.autostop_minutes:
            IdleStopAlarm(self, "autostop", spec, instance.id)

        TerraformOutput(self, "instance_id", value=instance.id)
        TerraformOutput(self, "public_ip", value=instance.public_ip)
        TerraformOutput(self, "volume_id", value=data.volume.id)
        TerraformOutput(self, "availability_zone", value=data.volume.availability_zone)

    def _backend(self, spec: EnvironmentSpec, options: StackOptions) -> None:
        state = options.state
        if state.backend == "local":
            LocalBackend(self, path=str(options.state_dir / f"{spec.stack_name}.tfstate"))
            return
        endpoints = options.endpoints
        S3Backend(
            self,
            bucket=state.bucket or "",
            key=f"{state.key_prefix}/{spec.stack_name}/terraform.tfstate",
            region=state.region or spec.region,
            encrypt=True,
            use_lockfile=True,
            profile=options.profile,
            endpoints={k: v for k, v in endpoints.items() if k in ("s3", "sts", "iam")} or None,
            use_path_style=True if endpoints else None,
            **_sandbox_backend_flags(options.sandbox),
        )


def _sandbox_backend_flags(sandbox: bool) -> dict[str, object]:
    if not sandbox:
        return {}
    return {
        "access_key": "test",
        "secret_key": "test",
        "skip_credentials_validation": True,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
        "skip_requesting_account_id": True,
    }
