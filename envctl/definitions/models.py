"""The definition format: what users keep in git, as pydantic models.

Field descriptions feed `envctl schema`, the README reference and error messages, so they are
written for the person editing the YAML.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
ENVIRONMENT_ID = re.compile(r"^env-[0-9a-f]{8,32}$")
AMI_ID = re.compile(r"^ami-[0-9a-f]{8,17}$")

# Mounting the data volume over one of these would hide the operating system.
SYSTEM_PATHS = frozenset(
    [
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/snap",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
    ]
)


class Strict(BaseModel):
    """Base for every definition model: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ImageSpec(Strict):
    """Where the machine image comes from. Exactly one of ami, ssm_parameter or name."""

    ami: str | None = Field(None, description="A fixed AMI id, such as ami-0abc1234def567890.")
    ssm_parameter: str | None = Field(
        None,
        description="An SSM public parameter that holds an AMI id, such as the one AWS "
        "publishes for the Deep Learning AMI.",
    )
    name: str | None = Field(
        None, description="An AMI name filter with * wildcards; the newest match is used."
    )
    owners: list[str] = Field(
        default_factory=lambda: ["amazon"],
        description="Account ids or aliases that may own an image found by name.",
    )
    pinned: str | None = Field(
        None,
        description="The AMI id that ssm_parameter or name resolved to. envctl writes it on the "
        "first plan so a new image release never replaces a running box; delete it to upgrade.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> ImageSpec:
        sources = [s for s in (self.ami, self.ssm_parameter, self.name) if s]
        if len(sources) != 1:
            raise ValueError("set exactly one of ami, ssm_parameter or name")
        for value in (self.ami, self.pinned):
            if value and not AMI_ID.match(value):
                raise ValueError(
                    f"{value!r} is not an AMI id; expected ami- and 8 to 17 hex digits"
                )
        return self

    @property
    def resolved_ami(self) -> str | None:
        """The AMI id to launch, when it is known without asking AWS."""
        return self.ami or self.pinned


VolumeType = Literal["gp3", "gp2", "io2"]

# EBS limits by volume type: (min GiB, max GiB). Source: the AWS EBS volume types page.
VOLUME_SIZE_LIMITS: dict[str, tuple[int, int]] = {
    "gp3": (1, 16384),
    "gp2": (1, 16384),
    "io2": (4, 65536),
}


class VolumeSpec(Strict):
    """The persistent data volume. It outlives instance swaps and is never deleted implicitly."""

    size_gb: int = Field(100, description="Size in GiB. It may grow later, never shrink.")
    type: VolumeType = Field("gp3", description="EBS volume type: gp3, gp2 or io2.")
    iops: int | None = Field(
        None, description="Provisioned IOPS (gp3: 3000-16000, io2: 100-256000)."
    )
    throughput: int | None = Field(None, description="Throughput in MiB/s (gp3 only: 125-1000).")
    mount_path: str = Field("/data", description="Where the volume is mounted on the instance.")
    encrypted: bool = Field(True, description="Encrypt the volume at rest.")

    @field_validator("mount_path")
    @classmethod
    def _mount_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{value!r} is not an absolute path; use a path such as /data")
        normalized = "/" + value.strip("/")
        if normalized in SYSTEM_PATHS:
            raise ValueError(f"{value} would shadow a system directory; use a path such as /data")
        return normalized

    @model_validator(mode="after")
    def _limits(self) -> VolumeSpec:
        low, high = VOLUME_SIZE_LIMITS[self.type]
        if not low <= self.size_gb <= high:
            raise ValueError(f"size_gb {self.size_gb} is outside {low}-{high} GiB for {self.type}")
        if self.throughput is not None and self.type != "gp3":
            raise ValueError(f"throughput applies to gp3 only, not {self.type}; remove it")
        if self.throughput is not None and not 125 <= self.throughput <= 1000:
            raise ValueError(f"throughput {self.throughput} is outside 125-1000 MiB/s for gp3")
        if self.iops is not None:
            self._check_iops(self.iops)
        if self.type == "io2" and self.iops is None:
            raise ValueError("io2 needs iops; set volume.iops between 100 and 256000")
        return self

    def _check_iops(self, iops: int) -> None:
        if self.type == "gp2":
            raise ValueError("gp2 has no provisioned iops; remove iops or use gp3")
        low, high = (3000, 16000) if self.type == "gp3" else (100, 256000)
        if not low <= iops <= high:
            raise ValueError(f"iops {iops} is outside {low}-{high} for {self.type}")


def check_cidr(value: str) -> str:
    """Validate one CIDR block and return it in canonical form."""
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as error:
        raise ValueError(f"{value!r} is not a valid CIDR ({error})") from None


Cidr = Annotated[str, AfterValidator(check_cidr)]


class NetworkSpec(Strict):
    """Who may reach the instance, and where it lives."""

    ssh_cidrs: list[Cidr] | None = Field(
        None, description="CIDRs allowed to SSH in. Defaults to envctl.yaml's ssh.allowed_cidrs."
    )
    allow_world_ssh: bool = Field(
        False, description="Allow 0.0.0.0/0 in ssh_cidrs. Off unless you mean it."
    )
    vpc_id: str | None = Field(
        None, description="VPC for the security group; default VPC if unset."
    )
    subnet_id: str | None = Field(None, description="Subnet for the instance; default if unset.")

    @model_validator(mode="after")
    def _world(self) -> NetworkSpec:
        world = {"0.0.0.0/0", "::/0"}
        if not self.allow_world_ssh and world.intersection(self.ssh_cidrs or []):
            raise ValueError(
                "ssh_cidrs opens SSH to the world; set allow_world_ssh: true to mean it"
            )
        return self


class RepoSpec(Strict):
    """A git repository cloned onto the data volume at first boot."""

    url: str = Field(description="Clone URL, such as https://github.com/huggingface/diffusers.")
    ref: str = Field("HEAD", description="Branch, tag or commit to check out.")
    path: str | None = Field(
        None, description="Where to clone, relative to the workspace; defaults to the repo name."
    )

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        if value is not None and (value.startswith("/") or ".." in value.split("/")):
            raise ValueError(f"{value!r} must be relative to the workspace, without '..'")
        return value


class AutostopSpec(Strict):
    """Idle auto-stop: the instance powers off after this long with no activity."""

    idle_minutes: int | None = Field(
        60, ge=5, le=10080, description="Minutes idle before stopping; null turns autostop off."
    )


class SecretRef(Strict):
    """A secret the environment receives at boot. Names only; values live in Vault."""

    name: str = Field(description="Secret name, such as HF_TOKEN.")
    scope: Literal["user", "environment", "template"] = Field(
        "user", description="Where in Vault the secret lives: user, environment or template."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            raise ValueError(f"{value!r} is not a valid secret name; use letters, digits and _")
        return value


class InstanceSpec(Strict):
    """The virtual machine. Its type may change; the data volume stays."""

    type: str = Field(description="EC2 instance type, such as g5.xlarge or t3.large.")


Tags = Annotated[dict[str, str], Field(default_factory=dict)]


class EnvironmentFields(Strict):
    """Fields an environment and a template share."""

    region: str | None = Field(None, description="AWS region; defaults to envctl.yaml's region.")
    availability_zone: str | None = Field(
        None, description="Zone for the instance and its volume; the region's first zone if unset."
    )
    instance: InstanceSpec | None = None
    image: ImageSpec | None = None
    volume: VolumeSpec | None = None
    network: NetworkSpec | None = None
    repos: list[RepoSpec] | None = None
    setup: str | None = Field(None, description="Shell script run as the user after cloning.")
    autostop: AutostopSpec | None = None
    secrets: list[SecretRef] | None = None
    tags: Tags


class TemplateDefinition(EnvironmentFields):
    """A shared base in templates/NAME.yaml that environments extend."""

    description: str | None = Field(None, description="What the template is for.")


class EnvironmentDefinition(EnvironmentFields):
    """One environment, as written in environments/NAME.yaml."""

    id: str = Field(
        description="Immutable id, generated once (env- and hex digits). It keys the stack and "
        "its state, so renaming the environment is safe. Never edit it."
    )
    name: str = Field(description="Display name: a DNS label (a-z, 0-9, -), at most 63 chars.")
    owner: str = Field(description="Who the environment belongs to, such as alice.")
    template: str | None = Field(None, description="Name of a template in templates/ to extend.")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ENVIRONMENT_ID.match(value):
            raise ValueError(f"{value!r} is not an environment id; expected env- and hex digits")
        return value

    @field_validator("name", "owner")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not DNS_LABEL.match(value):
            raise ValueError(
                f"{value!r} is not a DNS label; use lowercase letters, digits and '-', "
                "at most 63 characters"
            )
        return value
