"""Resource settings as pure functions of a spec. The CDK constructs only pass these on.

Everything here must plan on hashicorp/aws 3.39.0 and on 6.x, so arguments that exist in only
one of them stay out.
"""

from __future__ import annotations

import json
from typing import Any

from envctl.definitions.spec import EnvironmentSpec

MANAGED_BY = "envctl"
# The tag that ties every resource to its environment. Its value, the environment id, never
# changes.
ENVIRONMENT_ID_TAG = "envctl:environment-id"
# The tag in which the box's autostop agent reports its last activity, for `envctl ls`.
LAST_ACTIVITY_TAG = "envctl:last-activity"
DATA_DEVICE = "/dev/sdf"
ROOT_VOLUME_GB = 100

# Services the stacks and envctl itself call; an endpoint override applies to each of them.
AWS_SERVICES = ("cloudwatch", "dlm", "dynamodb", "ec2", "iam", "s3", "ssm", "sts")


def base_tags(spec: EnvironmentSpec) -> dict[str, str]:
    """Tags on every resource of the environment, sorted so synthesized JSON is stable."""
    tags = {
        **spec.tags,
        "Name": spec.name,
        "owner": spec.owner,
        "environment": spec.name,
        ENVIRONMENT_ID_TAG: spec.id,
        "managed-by": MANAGED_BY,
    }
    return dict(sorted(tags.items()))


def instance_tags(spec: EnvironmentSpec) -> dict[str, str]:
    tags = base_tags(spec)
    if spec.template:
        tags["envctl:template"] = spec.template
    return dict(sorted(tags.items()))


def volume_tags(spec: EnvironmentSpec) -> dict[str, str]:
    tags = {**base_tags(spec), "Name": f"{spec.name}-data", "envctl:role": "data"}
    return dict(sorted(tags.items()))


def volume_settings(spec: EnvironmentSpec) -> dict[str, Any]:
    """Arguments of the aws_ebs_volume that holds the user's data."""
    volume = spec.volume
    settings: dict[str, Any] = {
        "availability_zone": spec.availability_zone,
        "size": volume.size_gb,
        "type": volume.type,
        "encrypted": volume.encrypted,
        "tags": volume_tags(spec),
    }
    if volume.iops is not None:
        settings["iops"] = volume.iops
    if volume.throughput is not None:
        settings["throughput"] = volume.throughput
    if volume.snapshot_id is not None:
        settings["snapshot_id"] = volume.snapshot_id
    return settings


def instance_settings(spec: EnvironmentSpec, ami: str) -> dict[str, Any]:
    """Arguments of the aws_instance, apart from the references to other resources."""
    settings: dict[str, Any] = {
        "ami": ami,
        "instance_type": spec.instance_type,
        "availability_zone": spec.availability_zone,
        # Powering off from inside (autostop, `sudo poweroff`) stops the box, never terminates.
        "instance_initiated_shutdown_behavior": "stop",
        # http_endpoint is set explicitly because provider 3.x drops http_tokens without it.
        "metadata_options": {"http_endpoint": "enabled", "http_tokens": "required"},
        "root_block_device": {
            "encrypted": True,
            "volume_type": "gp3",
            "volume_size": ROOT_VOLUME_GB,
            "delete_on_termination": True,
        },
        "tags": instance_tags(spec),
    }
    if spec.subnet_id:
        settings["subnet_id"] = spec.subnet_id
    return settings


def security_group_settings(spec: EnvironmentSpec) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "name": f"envctl-{spec.id}",
        "description": f"SSH access to envctl environment {spec.id}",
        "tags": base_tags(spec),
    }
    if spec.vpc_id:
        settings["vpc_id"] = spec.vpc_id
    return settings


def security_group_rules(spec: EnvironmentSpec) -> list[dict[str, Any]]:
    """Rules as aws_security_group_rule arguments: SSH from the listed CIDRs, all egress.

    Separate rule resources, not inline blocks, because inline ingress blocks need every
    attribute spelled out in JSON on provider 3.x. No CIDRs means no SSH rule at all.
    """
    rules: list[dict[str, Any]] = [{
        "name": "egress_all",
        "type": "egress",
        "from_port": 0,
        "to_port": 0,
        "protocol": "-1",
        "cidr_blocks": ["0.0.0.0/0"],
        "description": "all outbound traffic",
    }]
    ipv4 = sorted(c for c in spec.ssh_cidrs if ":" not in c)
    ipv6 = sorted(c for c in spec.ssh_cidrs if ":" in c)
    for name, key, cidrs in (("ssh_ipv4", "cidr_blocks", ipv4), ("ssh_ipv6", "ipv6_cidr_blocks",
                                                                  ipv6)):
        if cidrs:
            rules.append({
                "name": name,
                "type": "ingress",
                "from_port": 22,
                "to_port": 22,
                "protocol": "tcp",
                key: cidrs,
                "description": "SSH",
            })
    return rules


def box_role_included(spec: EnvironmentSpec, report_activity: bool) -> bool:
    """Decide whether the box gets its role. Only the autostop agent uses the role, and the
    agent is installed only when the spec sets autostop_minutes."""
    return report_activity and bool(spec.autostop_minutes)


def box_role_name(spec: EnvironmentSpec) -> str:
    """Return the name of the box's role and instance profile. It has at most 47 characters,
    because an environment id has at most 36 and IAM allows 64 in a role name."""
    return f"envctl-{spec.id}-box"


def service_role_trust(service: str) -> str:
    """Return the assume-role policy, as JSON, that lets one AWS service such as
    ec2.amazonaws.com take on a role."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }],
    }
    return json.dumps(trust, sort_keys=True)


def box_role_settings(spec: EnvironmentSpec) -> dict[str, Any]:
    """Arguments of the aws_iam_role that the box's instance profile carries."""
    return {
        "name": box_role_name(spec),
        "description": f"The box of envctl environment {spec.id}: sets its last-activity tag",
        "assume_role_policy": service_role_trust("ec2.amazonaws.com"),
        "tags": base_tags(spec),
    }


def box_role_policy_settings(spec: EnvironmentSpec, partition: str) -> dict[str, Any]:
    """Arguments of the aws_iam_role_policy, apart from the role: CreateTags with the
    last-activity key only, on instances tagged with this environment's id.

    ForAllValues is true for a request without tag keys too, so the Null condition requires
    them (IAM User Guide, "Multivalued context keys"). partition is "aws", "aws-cn" or
    "aws-us-gov", or a Terraform reference to the partition that holds the stack.
    """
    # NOTE: moto stores this policy without enforcing it, so no test evaluates the conditions;
    # the tests check the policy document only.
    statement = {
        "Sid": "SetLastActivityTag",
        "Effect": "Allow",
        "Action": "ec2:CreateTags",
        "Resource": f"arn:{partition}:ec2:*:*:instance/*",
        "Condition": {
            "StringEquals": {f"ec2:ResourceTag/{ENVIRONMENT_ID_TAG}": spec.id},
            "ForAllValues:StringEquals": {"aws:TagKeys": [LAST_ACTIVITY_TAG]},
            "Null": {"aws:TagKeys": "false"},
        },
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    return {"name": "envctl-last-activity", "policy": json.dumps(policy, sort_keys=True)}


def box_profile_settings(spec: EnvironmentSpec) -> dict[str, Any]:
    """Arguments of the aws_iam_instance_profile, apart from the role."""
    return {"name": box_role_name(spec), "tags": base_tags(spec)}


def provider_settings(region: str, endpoints: dict[str, str], profile: str | None,
                      sandbox: bool) -> dict[str, Any]:
    """Arguments of the AWS provider. With endpoints, every service goes to them, nowhere else.

    The provider ignores the last-activity tag, which the box's agent sets outside Terraform,
    so a plan neither shows it as a change nor removes it.
    """
    settings: dict[str, Any] = {"region": region, "ignore_tags": [{"keys": [LAST_ACTIVITY_TAG]}]}
    if profile:
        settings["profile"] = profile
    if endpoints:
        settings["endpoints"] = [dict(sorted(endpoints.items()))]
    if sandbox:
        settings.update(
            access_key="test",
            secret_key="test",
            skip_credentials_validation=True,
            # A string because the 6.x schema types it so; 3.x converts "true" to a bool.
            skip_metadata_api_check="true",
            skip_region_validation=True,
            skip_requesting_account_id=True,
        )
    return settings
