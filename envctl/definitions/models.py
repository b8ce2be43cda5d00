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
SNAPSHOT_ID = re.compile(r"^snap-[0-9a-f]{8,17}$")

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
    snapshot_id: str | None = Field(
        None,
        description="The EBS snapshot the volume starts from. `envctl restore` and `envctl "
        "create --from-snapshot` set it. Changing it on an applied environment replaces the "
        "volume, which apply rejects without --allow-data-loss.",
    )

    @field_validator("mount_path")
    @classmethod
    def _mount_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{value!r} is not an absolute path; use a path such as /data")
        normalized = "/" + value.strip("/")
        if normalized in SYSTEM_PATHS:
            raise ValueError(f"{value} would shadow a system directory; use a path such as /data")
        return normalized

    @field_validator("snapshot_id")
    @classmethod
    def _snapshot_id(cls, value: str | None) -> str | None:
        if value is not None and not SNAPSHOT_ID.match(value):
            raise ValueError(f"{value!r} is not a snapshot id; expected snap- and 8 to 17 "
                             "hex digits")
        return value

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


# The activity signals of the autostop agent (instance/autostop/README.md describes each).
AutostopSignal = Literal["ssh", "ide", "ports", "gpu", "cpu", "lease", "heartbeat"]
LINUX_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class PreStopHookSpec(Strict):
    """A command the autostop agent runs before it powers the box off."""

    command: str = Field(
        min_length=1,
        description="Shell command, run with /bin/sh -c, such as a script that saves a "
        "checkpoint to the data volume. The box powers off whether it succeeds or not.",
    )
    timeout_seconds: int = Field(
        300, ge=1, le=3600,
        description="Seconds the hook may run; then its process group gets SIGTERM, and "
        "SIGKILL 5 seconds later.",
    )
    user: str | None = Field(
        None, description="Linux user that runs the hook, such as ubuntu; root when unset."
    )

    @field_validator("user")
    @classmethod
    def _linux_user(cls, value: str | None) -> str | None:
        if value is not None and not LINUX_USER.match(value):
            raise ValueError(f"{value!r} is not a valid Linux user name")
        return value


class AutostopSpec(Strict):
    """Idle auto-stop: the instance powers off after this long with no activity."""

    idle_minutes: int | None = Field(
        60, ge=5, le=10080, description="Minutes idle before stopping; null turns autostop off."
    )
    signals: list[AutostopSignal] | None = Field(
        None, min_length=1,
        description="Which activity keeps the box up, from ssh, ide, ports, gpu, cpu, lease "
        "and heartbeat; every signal counts when unset.",
    )
    pre_stop: PreStopHookSpec | None = None

    @field_validator("signals")
    @classmethod
    def _no_repeats(cls, value: list[str] | None) -> list[str] | None:
        names = value or []
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once; list each signal once")
        return value


# Intervals Data Lifecycle Manager accepts for a snapshot schedule, in hours, and the most
# snapshots one schedule retains. Source: the DLM service model that botocore ships
# (CreateRule.Interval and RetainRule.Count).
BACKUP_INTERVAL_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
MAX_RETAINED_SNAPSHOTS = 1000
DEFAULT_RETAINED_SNAPSHOTS = 7
UTC_TIME = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")


class BackupScheduleSpec(Strict):
    """The times at which Data Lifecycle Manager snapshots the data volume."""

    every: str = Field(
        "daily",
        description="How often: daily, or every N hours written as Nh, where N is 1, 2, 3, 4, "
        "6, 8 or 12.",
    )
    at: str = Field(
        "03:00", description="Start time of the first snapshot of each day, in UTC, as HH:MM."
    )

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, value: object) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"{value} has no unit; write {value}h for every {value} hours, "
                             "or daily")
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a schedule; use daily or Nh, such as 12h")
        hours = _interval_hours(value)
        if hours not in BACKUP_INTERVAL_HOURS:
            allowed = ", ".join(f"{h}h" for h in BACKUP_INTERVAL_HOURS[:-1])
            raise ValueError(f"{value!r} is not a schedule that Data Lifecycle Manager "
                             f"supports; use daily or one of {allowed}")
        return "daily" if hours == 24 else f"{hours}h"

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        match = UTC_TIME.match(value.strip())
        if not match:
            raise ValueError(f"{value!r} is not a time of day; use HH:MM in UTC, such as "
                             "'03:00'")
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    @property
    def interval_hours(self) -> int:
        return _interval_hours(self.every) or 24


def _interval_hours(every: str) -> int | None:
    text = every.strip().lower()
    if text == "daily":
        return 24
    match = re.match(r"^([0-9]+)\s*h$", text)
    return int(match.group(1)) if match else None


class BackupRetentionSpec(Strict):
    """How many scheduled snapshots to keep: a count or an age in days, not both."""

    count: int | None = Field(
        None, description="Keep the newest N scheduled snapshots, from 1 to 1000."
    )
    days: int | None = Field(
        None,
        description="Keep scheduled snapshots for N days. envctl converts this to the count "
        "the schedule makes in N days, because provider 3.39 only retains by count.",
    )

    @model_validator(mode="after")
    def _one_rule(self) -> BackupRetentionSpec:
        if (self.count is None) == (self.days is None):
            raise ValueError("set exactly one of count or days")
        if self.count is not None and not 1 <= self.count <= MAX_RETAINED_SNAPSHOTS:
            raise ValueError(f"count {self.count} is outside 1-{MAX_RETAINED_SNAPSHOTS}")
        if self.days is not None and self.days < 1:
            raise ValueError(f"days {self.days} is less than 1")
        return self


class BackupSpec(Strict):
    """Snapshots of the data volume: on a schedule, and a final one when the volume is deleted."""

    schedule: BackupScheduleSpec | None = Field(
        None, description="Take snapshots on this schedule; no schedule means no policy."
    )
    retain: BackupRetentionSpec | None = Field(
        None, description="Which scheduled snapshots to keep; the newest 7 if unset."
    )
    final_snapshot: bool = Field(
        False,
        description="Snapshot the volume before `envctl destroy --delete-volume` deletes it.",
    )

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule_shorthand(cls, value: object) -> object:
        # `schedule: 12h` is short for `schedule: {every: 12h}`.
        return {"every": value} if isinstance(value, str | int) else value

    @model_validator(mode="after")
    def _retention_fits(self) -> BackupSpec:
        if self.schedule is None:
            if self.retain is not None:
                raise ValueError("retain applies to scheduled snapshots; add a schedule or "
                                 "remove retain")
            return self
        count = self.retained_count
        if count > MAX_RETAINED_SNAPSHOTS and self.retain is not None:
            raise ValueError(f"retain.days {self.retain.days} at every "
                             f"{self.schedule.interval_hours}h keeps {count} snapshots, over "
                             f"Data Lifecycle Manager's {MAX_RETAINED_SNAPSHOTS}; keep fewer "
                             "days or snapshot less often")
        return self

    @property
    def retained_count(self) -> int:
        """The number of scheduled snapshots the policy keeps, with days converted to a count."""
        if self.retain is None or self.schedule is None:
            return DEFAULT_RETAINED_SNAPSHOTS
        if self.retain.count is not None:
            return self.retain.count
        hours = (self.retain.days or 0) * 24
        return -(-hours // self.schedule.interval_hours)


class SecretRef(Strict):
    """A secret the environment receives at boot. Names only; values live in Vault."""

    name: str = Field(description="Secret name, such as HF_TOKEN.")
    scope: Literal["user", "environment", "template"] = Field(
        "user", description="Where in Vault the secret lives: user, environment or template."
    )
    file: str | None = Field(
        None,
        description="Write the value to this file instead of the env file, relative to the "
        "user's home, such as .aws/credentials; mode 0600.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            raise ValueError(f"{value!r} is not a valid secret name; use letters, digits and _")
        return value

    @field_validator("file")
    @classmethod
    def _file(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = value.split("/")
        if value.startswith("/") or not re.match(r"^[A-Za-z0-9._/-]+$", value) or any(
            part in ("", ".", "..") for part in parts
        ):
            raise ValueError(
                f"{value!r} is not a path inside the home folder; use a relative path such "
                "as .aws/credentials, without '..'"
            )
        return value


class InstanceSpec(Strict):
    """The virtual machine. Its type may change; the data volume stays."""

    type: str | None = Field(
        None, description="EC2 instance type, such as g5.xlarge or t3.large. Set type or types."
    )
    types: list[str] | None = Field(
        None,
        min_length=1,
        description="Instance types in order of preference, such as [g5.xlarge, g6.xlarge]. "
        "apply and start use the first; when AWS has no capacity for it in the volume's zone, "
        "they try the next. Set type or types.",
    )

    @model_validator(mode="after")
    def _one_choice(self) -> InstanceSpec:
        if (self.type is None) == (self.types is None):
            raise ValueError("set exactly one of type or types")
        if self.types is not None and len(set(self.types)) != len(self.types):
            raise ValueError("types lists an instance type twice; list each once")
        return self

    @property
    def preferences(self) -> tuple[str, ...]:
        """The instance types in order of preference; the first is the one to launch."""
        return tuple(self.types) if self.types is not None else (str(self.type),)


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
    backup: BackupSpec | None = None
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
    template: str | None = Field(
        None,
        description="Name of a template in templates/ to extend. Maps merge with the "
        "template's, scalars and lists replace them, and a list under the key name plus + "
        "(such as repos+:) is added to the end of the template's list.",
    )

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
