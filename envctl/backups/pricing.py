"""Snapshot storage prices, from envctl/definitions/data/aws-ebs-snapshot-prices.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

SNAPSHOT_PRICES_FILE = "aws-ebs-snapshot-prices.json"


@dataclass(frozen=True)
class SnapshotPrices:
    """The shipped price list: USD per GB-month by region and tier, with its source and date."""

    source: str
    date: str
    regions: dict[str, dict[str, float]]

    def usd_per_gb_month(self, region: str, tier: str = "standard") -> float | None:
        """Return the price of one GB-month in a region's tier, or None when unlisted."""
        return self.regions.get(region, {}).get(tier)


@cache
def snapshot_prices() -> SnapshotPrices:
    text = (files("envctl.definitions") / "data" / SNAPSHOT_PRICES_FILE).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return SnapshotPrices(source=data["source"], date=data["date"], regions=data["regions"])


def monthly_cost(size_gib: float, region: str, tier: str = "standard") -> float | None:
    """USD per month to store size_gib in a region's tier; None when the price is unknown.

    It multiplies GiB by the per-GB price without converting, and a GiB is 7.4% more than a GB.
    """
    price = snapshot_prices().usd_per_gb_month(region, tier)
    return None if price is None else round(size_gib * price, 2)
