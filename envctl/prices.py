"""EC2 prices from the catalog shipped in envctl/definitions/data/aws-ec2-prices.csv."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

# NOTE: the catalog snapshot carries no date of its own; this is the date it was copied into
# envctl, so treat prices as approximate.
PRICES_DATE = "2026-12-04"
PRICES_FILE = "aws-ec2-prices.csv"


@dataclass(frozen=True)
class PriceRow:
    """One catalog row: a type's hourly prices in one availability zone."""

    instance_type: str
    accelerator: str | None
    accelerator_count: int
    vcpus: float
    memory_gib: float
    on_demand: float | None
    spot: float | None
    region: str
    zone_id: str
    architecture: str


def _number(text: str) -> float | None:
    return float(text) if text else None


@cache
def price_rows() -> tuple[PriceRow, ...]:
    """Every row of the shipped catalog."""
    text = (files("envctl.definitions") / "data" / PRICES_FILE).read_text(encoding="utf-8")
    return tuple(
        PriceRow(
            instance_type=row["InstanceType"],
            accelerator=row["AcceleratorName"] or None,
            accelerator_count=int(float(row["AcceleratorCount"] or 0)),
            vcpus=float(row["vCPUs"]),
            memory_gib=float(row["MemoryGiB"]),
            on_demand=_number(row["Price"]),
            spot=_number(row["SpotPrice"]),
            region=row["Region"],
            zone_id=row["AvailabilityZone"],
            architecture=row["Arch"],
        )
        for row in csv.DictReader(text.splitlines())
    )


def on_demand_price(instance_type: str, region: str) -> float | None:
    """Hourly on-demand price in USD for a type in a region; None when the catalog lacks it."""
    prices = [row.on_demand for row in price_rows()
              if row.instance_type == instance_type and row.region == region
              and row.on_demand is not None]
    return min(prices) if prices else None


def spot_price(instance_type: str, region: str) -> float | None:
    """Lowest hourly spot price in USD across the region's zones; None when unknown."""
    prices = [row.spot for row in price_rows()
              if row.instance_type == instance_type and row.region == region
              and row.spot is not None]
    return min(prices) if prices else None
