"""Shared test data: a valid environment file, and a reader for synthesized boot scripts."""

import json
import re

# The stack's user data: ${base64gzip(replace("SCRIPT", "PLACEHOLDER", VOLUME_ID_REFERENCE))}
BOOT_SCRIPT_EXPRESSION = re.compile(r'^\$\{base64gzip\(replace\(("(?:[^"\\]|\\.)*"), ')

GOOD_ENVIRONMENT = """\
id: env-0a1b2c3d
name: sd-box
owner: alice
availability_zone: us-east-1a
instance:
  type: g5.xlarge
image:
  ami: ami-0123456789abcdef0
volume:
  size_gb: 200
  type: gp3
  mount_path: /data
network:
  ssh_cidrs: [203.0.113.0/24]
repos:
  - url: https://github.com/huggingface/diffusers
    ref: main
setup: |
  pip install -e diffusers
autostop:
  idle_minutes: 45
secrets:
  - name: HF_TOKEN
    scope: user
tags:
  team: vision
"""


def boot_script(instance: dict) -> str:
    """Return the boot script in a synthesized aws_instance, as Terraform will see it before
    filling in the volume id and compressing it."""
    found = BOOT_SCRIPT_EXPRESSION.match(instance["user_data_base64"])
    assert found, instance["user_data_base64"][:200]
    # An HCL string literal escapes like JSON, plus $${ and %%{ for a literal ${ and %{.
    return json.loads(found.group(1)).replace("$${", "${").replace("%%{", "%{")
