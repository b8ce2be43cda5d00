"""Render the cloud-init user data that boots an environment's instance.

The user data is a short shell script around a gzip-compressed, base64-encoded tar archive of
the boot scripts and the environment's data. The stack has Terraform put the volume id into the
script and gzip the whole, which cloud-init unzips; EC2 counts the gzip-compressed size.
"""

from __future__ import annotations

import base64
import gzip
import re
from collections.abc import Mapping
from typing import Any

from envctl.definitions.spec import EnvironmentSpec
from envctl.instance.payload import SETUP_FILES, PayloadFile, UserDataError, pack, payload_files
from envctl.instance.personal import PersonalLayer
from envctl.instance.templating import render
from envctl.resources import DATA_DEVICE

# EC2 rejects user data over 16 KB, counted before base64 encoding. Source: the EC2 User Guide,
# "Work with instance user data".
USER_DATA_LIMIT = 16384
# An EBS volume id: vol- and 17 hex digits (older volumes have 8).
VOLUME_ID_LENGTH = 21
# A literal volume id, or an interpolation that Terraform replaces with one, such as
# ${aws_ebs_volume.data_volume.id} or a CDK token for the volume's id attribute.
# The volume id in the script until Terraform replaces it: well-formed, but no volume has it.
VOLUME_ID_PLACEHOLDER = "vol-00000000000000000"
VOLUME_ID = re.compile(r"^(vol-[0-9a-f]{8,17}|\$\{[A-Za-z0-9_.\[\]-]+\})$")
DEVICE_NAME = re.compile(r"^/dev/[a-z0-9]+$")

__all__ = ["VOLUME_ID_PLACEHOLDER", "UserDataError", "render_user_data"]


def render_user_data(
    spec: EnvironmentSpec,
    personal: PersonalLayer | None = None,
    *,
    volume_id: str,
    device_name: str = DATA_DEVICE,
    user: str | None = None,
    activity: Mapping[str, Any] | None = None,
) -> str:
    """Render the user data for one environment's instance.

    volume_id is the data volume's id. It is not known at synth time, so the stack passes a
    Terraform interpolation of the volume's id attribute (a CDK token or a string such as
    "${aws_ebs_volume.data_volume.id}"). The template assigns it to VOLUME_ID in the plain
    shell text around the archive, where Terraform substitutes it. The rest of that text
    contains no "${" or "%{", so Terraform's template syntax has nothing else to interpret.
    device_name is the attach name of the volume, used on Xen instance types. user is the
    Linux user that owns the volume and runs the setup. None means the image's default login
    user, looked up on the box. activity is the autostop agent's "activity" section, from
    activity_report(), or None to leave the last-activity report out.

    Raises UserDataError when a value cannot be carried safely or the result, after
    compression, exceeds EC2's 16 KB limit.
    """
    if not VOLUME_ID.match(volume_id):
        raise UserDataError(
            f"{spec.id}: volume id {volume_id!r} is neither an EBS volume id (vol-...) nor a "
            "Terraform interpolation (${...}); pass the data volume's id attribute"
        )
    if not DEVICE_NAME.match(device_name):
        raise UserDataError(
            f"{spec.id}: device name {device_name!r} is not a device such as /dev/sdf"
        )
    files = payload_files(spec, personal, user, activity=activity)
    user_data = _render(files, volume_id, device_name)
    size = final_size(user_data, volume_id)
    if size > USER_DATA_LIMIT:
        raise _too_big(spec, size, files, volume_id, device_name)
    return user_data


def final_size(user_data: str, volume_id: str) -> int:
    """Return the size in bytes that EC2 counts: the script with a full-length volume id in
    place of VOLUME_ID, gzip-compressed as Terraform's base64gzip does.

    Terraform compresses with Go's compress/gzip, whose output for these scripts is a few bytes
    smaller than zlib's at level 6, so this count errs high (a test compares the two).
    """
    filled = user_data.replace(volume_id, "vol-" + "f" * (VOLUME_ID_LENGTH - 4))
    return len(gzip.compress(filled.encode(), compresslevel=6, mtime=0))


def _render(files: list[PayloadFile], volume_id: str, device_name: str) -> str:
    return render(
        "user-data.sh.j2",
        volume_id=volume_id,
        device_name=device_name,
        # One line: line breaks would only add bytes, and base64 -d reads any line length.
        payload=base64.b64encode(pack(files)).decode(),
    )


def _too_big(
    spec: EnvironmentSpec,
    size: int,
    files: list[PayloadFile],
    volume_id: str,
    device_name: str,
) -> UserDataError:
    """Name what to shorten: the setup scripts, or envctl's own files when they alone overflow."""
    own_files = [f for f in files if f.name not in SETUP_FILES]
    own_size = final_size(_render(own_files, volume_id, device_name), volume_id)
    start = (
        f"{spec.id}: user data is {size} bytes after compression, over EC2's "
        f"{USER_DATA_LIMIT}-byte limit"
    )
    if own_size > USER_DATA_LIMIT:
        agent = next((f for f in own_files if f.name == "autostop/agent.py"), None)
        cause = f"the autostop agent ({len(agent.content)} bytes)" if agent else "boot scripts"
        return UserDataError(
            f"{start}, and envctl's own boot files take {own_size} of them without any setup "
            f"script, mostly {cause}; set autostop.idle_minutes: null for now and report this "
            "envctl defect"
        )
    return UserDataError(
        f"{start}; the setup scripts take {size - own_size} of them, so shorten them, for "
        "example by moving them into a repository and running them from there"
    )
