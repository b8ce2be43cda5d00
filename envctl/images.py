"""Resolving an environment's image to an AMI id, and pinning it in the environment file."""

from __future__ import annotations

import logging
from typing import Any

from envctl.definitions.editing import set_field
from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import CloudError

log = logging.getLogger(__name__)


def resolve_ami(spec: EnvironmentSpec, ec2: Any, ssm: Any) -> str:
    """Ask AWS which AMI the spec's ssm_parameter or name filter means today."""
    image = spec.image
    if image.resolved_ami:
        return image.resolved_ami
    from botocore.exceptions import ClientError

    try:
        if image.ssm_parameter:
            return ssm.get_parameter(Name=image.ssm_parameter)["Parameter"]["Value"]
        found = ec2.describe_images(
            Owners=list(image.owners), Filters=[{"Name": "name", "Values": [image.name]}]
        )["Images"]
    except ClientError as error:
        source = image.ssm_parameter or image.name
        raise CloudError(f"{spec.source}: image: cannot resolve {source!r} in {spec.region} "
                         f"({error.response['Error']['Code']}); set image.ami instead") from None
    if not found:
        raise CloudError(f"{spec.source}: image.name: no AMI named {image.name!r} owned by "
                         f"{', '.join(image.owners)} in {spec.region}; check the filter")
    newest = max(found, key=lambda candidate: candidate.get("CreationDate", ""))
    return str(newest["ImageId"])


def pin_image(spec: EnvironmentSpec, ami: str) -> None:
    """Write image.pinned into the environment file, so a new release never replaces the box."""
    set_field(spec.source, ("image", "pinned"), ami)
    log.info("pinned %s to %s in %s", spec.name, ami, spec.source)
