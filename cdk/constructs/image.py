"""The machine image: a pinned AMI id, or a lookup when nothing is pinned yet."""

from __future__ import annotations

from cdktn_provider_aws.data_aws_ami import DataAwsAmi
from cdktn_provider_aws.data_aws_ssm_parameter import DataAwsSsmParameter
from constructs import Construct

from envctl.definitions.models import ImageSpec


def image_id(scope: Construct, image: ImageSpec) -> str:
    """Return the AMI id for the instance: a literal when pinned, else a data-source reference.

    envctl plan and apply pin the image before synthesis, so a lookup only remains in plain
    `envctl synth` output, where it keeps the stack valid without cloud access.
    """
    if image.resolved_ami:
        return image.resolved_ami
    if image.ssm_parameter:
        return DataAwsSsmParameter(scope, "image_parameter", name=image.ssm_parameter).value
    return DataAwsAmi(
        scope,
        "image_lookup",
        most_recent=True,
        owners=list(image.owners),
        filter=[{"name": "name", "values": [image.name]}],
    ).id
