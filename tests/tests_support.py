"""Shared test data: a valid environment file."""

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
    scope: template
tags:
  team: vision
"""
