"""The EC2 instance catalog: which types exist, their hardware, and where they are offered.

The data is the catalog that ships inside the moto package (a copy of what
DescribeInstanceTypes and DescribeInstanceTypeOfferings return). It is read as plain files,
without importing moto, so validation stays fast.
"""

from __future__ import annotations

import difflib
import gzip
import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class InstanceType:
    """The hardware of one EC2 instance type."""

    name: str
    vcpus: int
    memory_gib: float
    architectures: tuple[str, ...]
    gpu_name: str | None
    gpu_count: int
    gpu_memory_gib: float

    @property
    def has_gpu(self) -> bool:
        return self.gpu_count > 0


def _moto_resources() -> Path:
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the moto package is missing; reinstall envctl")
    return Path(next(iter(spec.submodule_search_locations))) / "ec2" / "resources"


def _read_gzip_json(path: Path) -> object:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _parse_type(raw: dict) -> InstanceType:
    gpu_info = raw.get("GpuInfo") or {}
    gpus = gpu_info.get("Gpus") or []
    return InstanceType(
        name=raw["InstanceType"],
        vcpus=raw["VCpuInfo"]["DefaultVCpus"],
        memory_gib=raw["MemoryInfo"]["SizeInMiB"] / 1024,
        architectures=tuple(raw["ProcessorInfo"]["SupportedArchitectures"]),
        gpu_name=gpus[0]["Name"] if gpus else None,
        gpu_count=sum(gpu["Count"] for gpu in gpus),
        gpu_memory_gib=gpu_info.get("TotalGpuMemoryInMiB", 0) / 1024,
    )


@cache
def instance_types() -> dict[str, InstanceType]:
    """Return every known instance type by name."""
    raw = _read_gzip_json(_moto_resources() / "instance_types.json.gz")
    assert isinstance(raw, dict)
    return {name: _parse_type(entry) for name, entry in raw.items()}


@cache
def zone_offerings(region: str) -> dict[str, frozenset[str]]:
    """Return, for each availability zone of a region, the instance types offered there."""
    path = (
        _moto_resources() / "instance_type_offerings" / "availability-zone" / f"{region}.json.gz"
    )
    if not path.exists():
        return {}
    offerings: dict[str, set[str]] = {}
    rows = _read_gzip_json(path)
    assert isinstance(rows, list), f"{path} is not a JSON list"
    for row in rows:
        offerings.setdefault(row["Location"], set()).add(row["InstanceType"])
    return {zone: frozenset(types) for zone, types in offerings.items()}


def regions() -> list[str]:
    folder = _moto_resources() / "instance_type_offerings" / "region"
    return sorted(path.name.removesuffix(".json.gz") for path in folder.glob("*.json.gz"))


def zones(region: str) -> list[str]:
    return sorted(zone_offerings(region))


def nearest(word: str, choices: list[str] | set[str]) -> str | None:
    """Return the closest spelling among choices, for 'did you mean' hints."""
    matches = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None
