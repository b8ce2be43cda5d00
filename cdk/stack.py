"""One TerraformStack per environment, composed of small constructs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cdktn import Fn, LocalBackend, S3Backend, TerraformOutput, TerraformStack
from cdktn_provider_aws.data_aws_partition import DataAwsPartition
from cdktn_provider_aws.provider import AwsProvider
from constructs import Construct

from envctl.backups.policy import policy_included
from envctl.cdk.constructs.access import SshKeyPair
from envctl.cdk.constructs.autostop import IdleStopAlarm
from envctl.cdk.constructs.backup import SnapshotSchedule
from envctl.cdk.constructs.compute import DevInstance
from envctl.cdk.constructs.identity import BoxRole
from envctl.cdk.constructs.image import image_id
from envctl.cdk.constructs.network import SshSecurityGroup
from envctl.cdk.constructs.storage import DataVolume
from envctl.definitions.project import StateSettings
from envctl.definitions.spec import EnvironmentSpec
from envctl.instance.autostop.config import activity_report
from envctl.instance.personal import PersonalLayer
from envctl.instance.userdata import VOLUME_ID_PLACEHOLDER, render_user_data
from envctl.resources import box_role_included, provider_settings


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
    personal: PersonalLayer | None = None
    # The owner's SSH public key; when set, the instance boots with it as a key pair.
    ssh_public_key: str | None = None
    # None: include the snapshot schedule's DLM policy everywhere but the sandbox.
    backup_policy: bool | None = None
    # Give a box with autostop a role that may set its last-activity tag.
    report_activity: bool = False


class EnvironmentStack(TerraformStack):
    """The resources of one environment. Construct ids are fixed, so addresses never change."""

    def __init__(self, scope: Construct, spec: EnvironmentSpec, options: StackOptions) -> None:
        super().__init__(scope, spec.stack_name)
        self._backend(spec, options)
        AwsProvider(self, "aws", **provider_settings(
            spec.region, options.endpoints, options.profile, options.sandbox))
        self.add_override("terraform.required_providers.aws.version", options.provider_version)

        backup = policy_included(spec, options.sandbox, options.backup_policy)
        reporting = box_role_included(spec, options.report_activity)
        # Construct ids are unique within a stack, so the constructs share one data source.
        partition = DataAwsPartition(self, "partition").partition if backup or reporting else ""

        network = SshSecurityGroup(self, "network", spec)
        data = DataVolume(self, "data", spec, allow_deletion=options.allow_volume_deletion)
        user_data = self._user_data(spec, options, data.volume.id)
        compute = DevInstance(self, "compute", spec, image_id(self, spec.image),
                              network.group.id, user_data)
        instance = compute.instance
        if options.ssh_public_key:
            instance.key_name = SshKeyPair(self, "access", spec,
                                           options.ssh_public_key).key_pair.key_name
        if reporting:
            instance.iam_instance_profile = BoxRole(self, "identity", spec,
                                                    partition).profile.name
        data.attach(self, instance.id)
        if spec.autostop_minutes:
            IdleStopAlarm(self, "autostop", spec, instance.id)
        if backup:
            SnapshotSchedule(self, "backup", spec, partition)

        TerraformOutput(self, "instance_id", value=instance.id)
        TerraformOutput(self, "public_ip", value=instance.public_ip)
        TerraformOutput(self, "volume_id", value=data.volume.id)
        TerraformOutput(self, "availability_zone", value=data.volume.availability_zone)

    @staticmethod
    def _user_data(spec: EnvironmentSpec, options: StackOptions, volume_id: str) -> str:
        """The boot script, gzip-compressed by Terraform once it knows the volume id.

        cloud-init unzips gzip user data itself, and compressed, the boot files stay well
        under EC2's 16 KB limit. The script goes in as a raw string, so nothing in it is read
        as a Terraform template; only the placeholder becomes the volume's id. The agent's
        configuration always contains where to send the last-activity tag, whether or not the
        box gets a role to send it with. Turning reporting on or off then changes only the
        instance profile, which EC2 changes in place, and not the user data, which would
        replace the box.
        """
        activity = activity_report(spec.region, options.endpoints, options.sandbox)
        script = render_user_data(spec, options.personal, volume_id=VOLUME_ID_PLACEHOLDER,
                                  activity=activity)
        return Fn.base64gzip(Fn.replace(Fn.raw_string(script), VOLUME_ID_PLACEHOLDER, volume_id))

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
