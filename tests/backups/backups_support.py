"""Shared test data: a small project whose one environment has a backup block."""

from __future__ import annotations

from pathlib import Path

# Autostop is off so the stack has no alarm module: fewer resources to apply on moto.
BACKUP_ENVIRONMENT = """\
# A CPU box whose data volume is backed up.
id: env-b4c0ffee
name: backup-box
owner: alice
availability_zone: us-east-1a
instance:
  type: t3.large
image:
  ssm_parameter: /aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id
volume:
  size_gb: 20
autostop:
  idle_minutes: null
backup:
  schedule:
    every: 12h
    at: "04:30"
  retain:
    days: 7
  final_snapshot: true
"""

SETTINGS = """\
region: us-east-1
ssh:
  allowed_cidrs: [203.0.113.0/24]
"""


def write_project(root: Path, environment: str = BACKUP_ENVIRONMENT) -> Path:
    """Write envctl.yaml and environments/backup-box.yaml under root; return root."""
    (root / "environments").mkdir(parents=True, exist_ok=True)
    (root / "envctl.yaml").write_text(SETTINGS)
    (root / "environments" / "backup-box.yaml").write_text(environment)
    return root
