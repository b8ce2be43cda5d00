"""The machine images and SSM public parameters that the sandbox cloud serves.

moto reads the images itself at import time from the file named by MOTO_AMIS_PATH, and
rebuilds them whenever it recreates an EC2 backend, so they survive a state reset. It rejects
PutParameter under the reserved /aws/ prefix, so the public parameters are inserted into its
SSM backends from inside the moto process (see moto_main) after startup and after every reset.
"""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

# Regions whose SSM backend gets the public parameters; other regions have none. Images exist
# in every region because moto loads MOTO_AMIS_PATH into each EC2 backend it creates.
SEEDED_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1")


def amis_path() -> Path:
    """Return the path of the image file in moto's format, the value for MOTO_AMIS_PATH."""
    return Path(str(resources.files("envctl.sandbox") / "data" / "amis.json"))


def seeded_amis() -> list[dict[str, Any]]:
    """Return the seeded images as moto reads them: ami_id, name, architecture, owner_id, ...

    NOTE: every region serves the same image ids, unlike AWS, where each region has its own.
    """
    images: list[dict[str, Any]] = json.loads(amis_path().read_text())
    return images


def public_parameters() -> dict[str, str]:
    """Return the seeded SSM public parameters: parameter name -> AMI id."""
    text = (resources.files("envctl.sandbox") / "data" / "public_parameters.json").read_text()
    return dict(json.loads(text))


def seed_public_parameters(account_id: str, regions: tuple[str, ...] = SEEDED_REGIONS) -> None:
    """Insert the public parameters into moto's SSM backends, inside the moto process only.

    This bypasses moto's PutParameter check the same way moto loads its own /aws/service
    parameters: Parameter objects appended to the backend's parameter store.
    """
    from moto.ssm.models import ssm_backends

    creation_dates = {ami["ami_id"]: ami["creation_date"] for ami in seeded_amis()}
    seeded = public_parameters()
    for region in regions:
        parameters = ssm_backends[account_id][region]._parameters
        # moto loads its own Amazon Linux parameters on first lookup. They name images that
        # MOTO_AMIS_PATH replaced, so marking them loaded keeps only ours under that prefix.
        parameters.latest_amis_loaded = True
        for name, ami_id in seeded.items():
            _insert_parameter(parameters, account_id, name, ami_id, creation_dates[ami_id])


def _insert_parameter(parameters: Any, account_id: str, name: str, ami_id: str,
                      modified: str) -> None:
    from moto.ssm.models import Parameter

    versions = parameters[name]
    # moto's Parameter leaves two CloudFormation hooks abstract; moto creates it the same way.
    versions.append(Parameter(  # type: ignore[abstract]
        account_id=account_id,
        name=name,
        value=ami_id,
        parameter_type="String",
        description=None,
        allowed_pattern=None,
        keyid=None,
        last_modified_date=datetime.fromisoformat(modified),
        version=len(versions) + 1,
        data_type="text",
    ))
