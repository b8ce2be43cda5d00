"""The owner's deployed layer, read from the state, so that a plan by anyone else keeps it.

The owner's dotfiles, setup script and SSH key come from the owner's own settings, which a
teammate or CI does not have. Without them the instance's user data and key pair would change,
and the box would be replaced. A plan by anyone but the owner therefore reuses them as the
state records them: the user data the box booted with and the key pair's public key.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import CloudError
from envctl.instance.deployed import DeployedLayer, personal_layer_of
from envctl.workspace import Workspace

log = logging.getLogger(__name__)

# Resource addresses in every stack (the construct ids in cdk/).
INSTANCE = ("aws_instance", "instance")
KEY_PAIR = ("aws_key_pair", "ssh_key")


def deployed_layer(workspace: Workspace, spec: EnvironmentSpec) -> DeployedLayer:
    """Read the owner's personal layer and SSH key from the environment's state."""
    state = raw_state(workspace, spec) or {}
    instance = recorded_attributes(state, *INSTANCE) or {}
    key_pair = recorded_attributes(state, *KEY_PAIR) or {}
    user_data = instance.get("user_data_base64")
    layer = DeployedLayer(personal=personal_layer_of(user_data) if user_data else None,
                          public_key=key_pair.get("public_key") or None)
    if layer.personal or layer.public_key:
        log.info("%s: keeping %s's personal layer and SSH key as deployed", spec.name, spec.owner)
    return layer


def recorded_attributes(state: dict[str, Any], kind: str, name: str) -> dict[str, Any] | None:
    """Return the attributes of one managed resource in a raw state file, or None."""
    for resource in state.get("resources", []):
        if (resource.get("mode"), resource.get("type"), resource.get("name")) == (
                "managed", kind, name):
            instances = resource.get("instances") or []
            return dict(instances[0]["attributes"]) if instances else None
    return None


def raw_state(workspace: Workspace, spec: EnvironmentSpec) -> dict[str, Any] | None:
    """Read the environment's Terraform state as JSON without Terraform, or None when absent.

    The local backend's file is read directly, and an S3 backend's object with boto3.
    """
    settings = workspace.project.settings.state
    if settings.backend == "local":
        path = workspace.state_dir / f"{spec.stack_name}.tfstate"
        return json.loads(path.read_text()) if path.exists() else None
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = workspace.client("s3", settings.region or spec.region)
    key = settings.object_key(spec.stack_name)
    try:
        body = s3.get_object(Bucket=settings.bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise CloudError(f"cannot read the state of {spec.name} from s3://{settings.bucket}/"
                         f"{key}: {error}") from error
    except BotoCoreError as error:
        raise CloudError(f"cannot read the state of {spec.name}: {error}") from error
    return dict(json.loads(body))
