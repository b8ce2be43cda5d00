"""The data volume: the one resource that must outlive every other change."""

from __future__ import annotations

from cdktn import TerraformResourceLifecycle
from cdktn_provider_aws.ebs_volume import EbsVolume
from cdktn_provider_aws.volume_attachment import VolumeAttachment
from constructs import Construct

from envctl.definitions.spec import EnvironmentSpec
from envctl.resources import DATA_DEVICE, volume_settings


class DataVolume(Construct):
    """The EBS data volume, its own resource with prevent_destroy.

    prevent_destroy is lifted only when the user asked to delete the volume
    (`envctl destroy --delete-volume`), through allow_deletion.
    """

    def __init__(self, scope: Construct, construct_id: str, spec: EnvironmentSpec,
                 allow_deletion: bool = False) -> None:
        super().__init__(scope, construct_id)
        self.volume = EbsVolume(
            scope,
            "data_volume",
            lifecycle=TerraformResourceLifecycle(prevent_destroy=not allow_deletion),
            **volume_settings(spec),
        )

    def attach(self, scope: Construct, instance_id: str) -> VolumeAttachment:
        # NOTE: stop_instance_before_detaching would detach more cleanly from a running box,
        # but provider 3.39 lacks it, so the attachment relies on Terraform's default detach.
        return VolumeAttachment(
            scope,
            "volume_attachment",
            device_name=DATA_DEVICE,
            instance_id=instance_id,
            volume_id=self.volume.id,
        )
