"""The resolved spec: an environment with its template merged and every default filled in.

Definition (what the user wrote) -> spec (this) -> stack -> plan -> apply result.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from envctl.definitions.models import (
    AutostopSpec,
    BackupSpec,
    ImageSpec,
    RepoSpec,
    SecretRef,
    VolumeSpec,
)


class EnvironmentSpec(BaseModel):
    """Everything the stack and the instance need, with no optional gaps left."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    owner: str
    template: str | None
    region: str
    availability_zone: str
    instance_type: str
    # The types the definition allows, in order of preference: instance.types, or
    # instance.type alone. instance_type is the one to plan: the first, unless the capacity
    # fallback or the running instance picked a later one. Empty in specs built by hand.
    instance_types: tuple[str, ...] = ()
    image: ImageSpec
    volume: VolumeSpec
    ssh_cidrs: tuple[str, ...]
    vpc_id: str | None
    subnet_id: str | None
    repos: tuple[RepoSpec, ...]
    setup: str | None
    autostop_minutes: int | None
    secrets: tuple[SecretRef, ...]
    tags: dict[str, str]
    source: Path
    backup: BackupSpec | None = None
    # The whole autostop section, for the agent's signals and pre-stop hook; None in specs
    # built by hand, which then get every signal and no hook.
    autostop: AutostopSpec | None = None

    @property
    def stack_name(self) -> str:
        """The stack and state key. It comes from the immutable id, so a rename moves nothing."""
        return self.id
