"""Cost estimates from the shipped price catalogs: EC2 per running hour, EBS per month.

The monthly estimate counts the instance only for the hours it is expected to run. With
autostop, that is the project's active hours per workday plus the idle wait before the box
stops. Storage is billed every hour of the month, because a stopped instance keeps its disks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from envctl.definitions.project import CostSettings
from envctl.definitions.spec import EnvironmentSpec
from envctl.prices import on_demand_price, spot_price
from envctl.resources import ROOT_VOLUME_GB

# AWS turns hourly prices into monthly ones with 730 hours (365 days * 24 / 12).
HOURS_PER_MONTH = 730.0
ROOT_VOLUME_TYPE = "gp3"
EBS_PRICES_FILE = "aws-ebs-prices.json"


@cache
def ebs_catalog() -> dict[str, Any]:
    """Load the shipped EBS price file: source, date and prices by region and volume type."""
    text = (files("envctl.definitions") / "data" / EBS_PRICES_FILE).read_text(encoding="utf-8")
    catalog: dict[str, Any] = json.loads(text)
    return catalog


def volume_monthly_usd(region: str, volume_type: str, size_gb: int, iops: int | None = None,
                       throughput: int | None = None) -> float | None:
    """Monthly price of one EBS volume, with provisioned performance; None when unknown."""
    price = ebs_catalog()["regions"].get(region, {}).get(volume_type)
    if price is None:
        return None
    total = price["usd_per_gb_month"] * size_gb
    if volume_type == "gp3":
        extra_iops = max(0, (iops or 0) - price["included_iops"])
        extra_mbps = max(0, (throughput or 0) - price["included_mbps"])
        total += extra_iops * price["usd_per_iops_month"]
        total += extra_mbps * price["usd_per_mbps_month"]
    if "iops_tiers" in price:
        total += _tiered_iops_usd(iops or 0, price["iops_tiers"])
    return total


def _tiered_iops_usd(iops: int, tiers: list[dict[str, Any]]) -> float:
    total, counted = 0.0, 0
    for tier in tiers:
        ceiling = tier["up_to"] if tier["up_to"] is not None else iops
        in_tier = max(0, min(iops, ceiling) - counted)
        total += in_tier * tier["usd_per_iops_month"]
        counted += in_tier
    return total


def storage_monthly_usd(spec: EnvironmentSpec, root_disk: bool = True) -> float | None:
    """Monthly price of the data volume, plus the root disk unless root_disk is False."""
    volume = spec.volume
    data = volume_monthly_usd(spec.region, volume.type, volume.size_gb, volume.iops,
                              volume.throughput)
    if not root_disk or data is None:
        return data
    root = volume_monthly_usd(spec.region, ROOT_VOLUME_TYPE, ROOT_VOLUME_GB)
    return None if root is None else data + root


def expected_running_hours(autostop_minutes: int | None, costs: CostSettings) -> float:
    """Hours per month the instance runs: always without autostop, else workdays of use."""
    if autostop_minutes is None:
        return HOURS_PER_MONTH
    # Autostop waits this long after the last activity of each day before stopping the box.
    per_day = costs.active_hours_per_day + autostop_minutes / 60
    return min(HOURS_PER_MONTH, costs.workdays_per_month * per_day)


@dataclass(frozen=True)
class CostEstimate:
    """An environment's on-demand cost in USD, estimated from the shipped catalogs."""

    instance_type: str | None
    region: str
    hourly_usd: float | None
    spot_hourly_usd: float | None
    storage_monthly_usd: float | None
    running_hours_per_month: float
    monthly_usd: float | None
    always_on_monthly_usd: float | None

    @property
    def running_hourly_usd(self) -> float | None:
        """Instance and storage together, per hour while the instance runs."""
        if self.hourly_usd is None or self.storage_monthly_usd is None:
            return None
        return self.hourly_usd + self.storage_monthly_usd / HOURS_PER_MONTH

    @property
    def autostop_saving_usd(self) -> float | None:
        """How much less a month costs with the expected hours than running all month."""
        if self.monthly_usd is None or self.always_on_monthly_usd is None:
            return None
        return self.always_on_monthly_usd - self.monthly_usd

    def to_json(self) -> dict[str, Any]:
        return {
            "instance_type": self.instance_type,
            "region": self.region,
            "hourly_usd": self.hourly_usd,
            "spot_hourly_usd": self.spot_hourly_usd,
            "running_hourly_usd": self.running_hourly_usd,
            "storage_monthly_usd": self.storage_monthly_usd,
            "running_hours_per_month": self.running_hours_per_month,
            "monthly_usd": self.monthly_usd,
            "always_on_monthly_usd": self.always_on_monthly_usd,
        }


def estimate_cost(spec: EnvironmentSpec, costs: CostSettings) -> CostEstimate:
    """Estimate the cost per running hour, and per month with and without autostop."""
    hourly = on_demand_price(spec.instance_type, spec.region)
    storage = storage_monthly_usd(spec)
    hours = expected_running_hours(spec.autostop_minutes, costs)
    return CostEstimate(
        instance_type=spec.instance_type,
        region=spec.region,
        hourly_usd=hourly,
        spot_hourly_usd=spot_price(spec.instance_type, spec.region),
        storage_monthly_usd=storage,
        running_hours_per_month=hours,
        monthly_usd=_monthly(hourly, hours, storage),
        always_on_monthly_usd=_monthly(hourly, HOURS_PER_MONTH, storage),
    )


def retained_volume_cost(spec: EnvironmentSpec) -> CostEstimate:
    """Estimate the cost left after a destroy that keeps the data volume: its storage alone."""
    storage = storage_monthly_usd(spec, root_disk=False)
    return CostEstimate(
        instance_type=None,
        region=spec.region,
        hourly_usd=0.0,
        spot_hourly_usd=None,
        storage_monthly_usd=storage,
        running_hours_per_month=0.0,
        monthly_usd=storage,
        always_on_monthly_usd=storage,
    )


def _monthly(hourly: float | None, hours: float, storage: float | None) -> float | None:
    if hourly is None or storage is None:
        return None
    return hourly * hours + storage
