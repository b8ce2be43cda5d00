"""The security group: SSH only from the listed CIDRs."""

from __future__ import annotations

from cdktn_provider_aws.security_group import SecurityGroup
from cdktn_provider_aws.security_group_rule import SecurityGroupRule
from constructs import Construct

from envctl.definitions.spec import EnvironmentSpec
from envctl.resources import security_group_rules, security_group_settings


class SshSecurityGroup(Construct):
    """A security group for one environment, with its rules as separate resources."""

    def __init__(self, scope: Construct, construct_id: str, spec: EnvironmentSpec) -> None:
        super().__init__(scope, construct_id)
        self.group = SecurityGroup(scope, "security_group", **security_group_settings(spec))
        for rule in security_group_rules(spec):
            name = rule.pop("name")
            SecurityGroupRule(scope, f"rule_{name}", security_group_id=self.group.id, **rule)
