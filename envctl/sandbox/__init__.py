"""The sandbox cloud: moto and an OpenBao dev server on 127.0.0.1, seeded with public images.

`up(root)` starts both as background processes that outlive the caller and records them in
<root>/.envctl/sandbox.json; `down(root)` stops them. Importing this package loads neither
moto nor boto3.
"""

from envctl.sandbox.lifecycle import current, down, reset_cloud, status, up
from envctl.sandbox.record import Sandbox
from envctl.sandbox.seeding import SEEDED_REGIONS, public_parameters, seeded_amis

__all__ = [
    "SEEDED_REGIONS",
    "Sandbox",
    "current",
    "down",
    "public_parameters",
    "reset_cloud",
    "seeded_amis",
    "status",
    "up",
]
