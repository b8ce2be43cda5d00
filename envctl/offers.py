"""Instance types from the price catalog: the cheapest one that fits, and every one that fits.

Picking (select_gpu_type, select_cpu_type) and listing (list_offers) are pure functions of
the catalog rows. The caller asks AWS which types are offered where the data volume lives.
Only live_zones calls AWS, through the client it is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from envctl.definitions import catalog
from envctl.errors import EnvctlError
from envctl.prices import PriceRow, price_rows

# What `--cpu` means: the cheapest type without accelerators that still has room for an
# editor, a language server and a test run, as t3.large (2 vCPUs, 8 GiB) has.
CPU_MIN_VCPUS = 2
CPU_MIN_MEMORY_GIB = 8.0

GPU_REQUEST = re.compile(r"^(?P<name>[A-Za-z0-9-]+)(?::(?P<count>[1-9][0-9]*))?$")


class NoMatchingType(EnvctlError):
    """No instance type in the price catalog fits the request where the volume lives."""


@dataclass(frozen=True)
class GpuRequest:
    """A GPU model and how many of them, as in `--gpu A10G:4`."""

    name: str
    count: int = 1


def parse_gpu_request(text: str) -> GpuRequest:
    """Parse NAME or NAME:COUNT, such as A10G or A10G:4."""
    match = GPU_REQUEST.match(text.strip())
    if match is None:
        raise NoMatchingType(f"invalid GPU request {text!r}; use NAME or NAME:COUNT, such as "
                             "A10G or A10G:4")
    return GpuRequest(match["name"], int(match["count"] or 1))


def cheapest_by_type(rows: Iterable[PriceRow]) -> list[PriceRow]:
    """Keep each type's lowest on-demand row, sorted by price and then by type name."""
    best: dict[str, PriceRow] = {}
    for row in rows:
        if row.on_demand is None:
            continue
        kept = best.get(row.instance_type)
        if kept is None or row.on_demand < (kept.on_demand or 0.0):
            best[row.instance_type] = row
    return sorted(best.values(), key=lambda row: (row.on_demand, row.instance_type))


def gpu_candidates(request: GpuRequest, region: str, offered: Collection[str],
                   architecture: str | None = None,
                   rows: Iterable[PriceRow] | None = None) -> list[PriceRow]:
    """Types with exactly request.count GPUs named request.name, cheapest first.

    Only types in offered (the types offered in the volume's zone) and, when architecture is
    given, of that CPU architecture count. The GPU name matches without regard to case.
    """
    wanted = request.name.lower()
    matching = (
        row for row in (price_rows() if rows is None else rows)
        if row.region == region
        and row.accelerator is not None and row.accelerator.lower() == wanted
        and row.accelerator_count == request.count
        and row.instance_type in offered
        and (architecture is None or row.architecture == architecture)
    )
    return cheapest_by_type(matching)


def select_gpu_type(request: GpuRequest, region: str, offered: Collection[str],
                    architecture: str | None = None,
                    rows: Iterable[PriceRow] | None = None) -> PriceRow:
    """Return the cheapest catalog row that fits request, or raise NoMatchingType."""
    rows = list(price_rows() if rows is None else rows)
    candidates = gpu_candidates(request, region, offered, architecture, rows)
    if candidates:
        return candidates[0]
    names = sorted({f"{row.accelerator}:{row.accelerator_count}" for row in rows
                    if row.region == region and row.accelerator})
    where = f"{region} (architecture {architecture})" if architecture else region
    raise NoMatchingType(
        f"no instance type with {request.count} x {request.name} is offered in the volume's "
        f"zone in {where}; choose one of: {', '.join(names) or 'none'}, or pass --type")


def select_cpu_type(region: str, offered: Collection[str], architecture: str | None = None,
                    rows: Iterable[PriceRow] | None = None,
                    min_vcpus: int = CPU_MIN_VCPUS,
                    min_memory_gib: float = CPU_MIN_MEMORY_GIB) -> PriceRow:
    """Return the cheapest type without accelerators with at least min_vcpus and memory."""
    matching = (
        row for row in (price_rows() if rows is None else rows)
        if row.region == region and row.accelerator is None
        and row.vcpus >= min_vcpus and row.memory_gib >= min_memory_gib
        and row.instance_type in offered
        and (architecture is None or row.architecture == architecture)
    )
    candidates = cheapest_by_type(matching)
    if not candidates:
        where = f"{region} (architecture {architecture})" if architecture else region
        raise NoMatchingType(
            f"no CPU type with at least {min_vcpus} vCPUs and {min_memory_gib:g} GiB is offered "
            f"in the volume's zone in {where}; pass --type")
    return candidates[0]


def select_gpu_type_offline(request: GpuRequest, region: str, zone: str,
                            template_type: str) -> PriceRow:
    """Pick the cheapest type for request in zone without asking AWS, as `envctl create` does.

    A new environment has no data volume yet, so the zone is the one its file resolves to,
    and the types offered there come from the instance data that moto ships. The CPU
    architecture stays that of template_type, because the template's image was chosen for it.
    """
    offered = catalog.zone_offerings(region).get(zone, frozenset())
    known = catalog.instance_types().get(template_type)
    architecture = None
    if known is not None:
        # AWS lists i386 next to x86_64 for older types, but the price catalog has only x86_64
        # and arm64.
        architecture = "arm64" if "arm64" in known.architectures else "x86_64"
    return select_gpu_type(request, region, offered, architecture)


# Listing: `envctl offers`, every catalog type that fits a filter, one row per region.

GIB = 1024**3
SIZE = re.compile(r"^\s*(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[A-Za-z]*)\s*$")
UNIT_BYTES = {"gb": 10**9, "gib": GIB, "tb": 10**12, "tib": 1024**4, "mb": 10**6, "mib": 1024**2}
# AWS reports some GPU memory in MiB just under the marketed figure (an A10G's "24 GB" is
# 22,888 MiB, 0.0008% short of 24 * 10^9 bytes), so a minimum within this fraction still fits.
GPU_MEMORY_TOLERANCE = 0.01


class InvalidOfferFilter(EnvctlError):
    """An invalid value of an `envctl offers` option."""


def parse_size_gib(text: str, bare_unit: str) -> float:
    """Parse a size such as 24GB, 24GiB or 24 into GiB; a bare number is in bare_unit.

    GB and TB are powers of ten (as GPU vendors count), GiB and TiB powers of two (as AWS
    counts instance memory).
    """
    match = SIZE.match(text)
    unit = (match["unit"] or bare_unit).lower() if match else ""
    if match is None or unit not in UNIT_BYTES:
        raise InvalidOfferFilter(f"invalid size {text!r}; use a number with GB or GiB, such as "
                                 "24GB")
    return float(match["number"]) * UNIT_BYTES[unit] / GIB


@dataclass(frozen=True)
class OfferFilter:
    """The minimums and limits an instance type must meet to be listed; None means no limit.

    gpu_count is a minimum, unlike select_gpu_type's exact count, so that a listing for a GPU
    model without a count shows every size of it.
    """

    gpu_name: str | None = None
    gpu_count: int | None = None
    min_gpu_memory_gib: float | None = None
    min_vcpus: float | None = None
    min_memory_gib: float | None = None
    region: str | None = None
    spot: bool = False
    max_price: float | None = None


@dataclass(frozen=True)
class Offer:
    """One instance type in one region: its hardware, its hourly prices and where it is offered.

    zones contains availability zone ids (use1-az1) from the catalog, or zone names (us-east-1a)
    once narrowed to what AWS offers now. Prices are the lowest over those zones.
    """

    instance_type: str
    accelerator: str | None
    accelerator_count: int
    gpu_memory_gib: float | None
    vcpus: float
    memory_gib: float
    on_demand: float | None
    spot: float | None
    region: str
    zones: tuple[str, ...]
    architecture: str

    def price(self, spot: bool) -> float | None:
        """Hourly USD price: spot or on-demand."""
        return self.spot if spot else self.on_demand

    def to_json(self) -> dict[str, object]:
        return {
            "instance_type": self.instance_type,
            "gpu": self.accelerator,
            "gpu_count": self.accelerator_count,
            "gpu_memory_gib": self.gpu_memory_gib,
            "vcpus": self.vcpus,
            "memory_gib": self.memory_gib,
            "on_demand": self.on_demand,
            "spot": self.spot,
            "region": self.region,
            "zones": list(self.zones),
            "architecture": self.architecture,
        }


def gpu_memory_per_gpu(instance_type: str) -> float | None:
    """GiB of memory per GPU as DescribeInstanceTypes reports it; None when it reports none."""
    known = catalog.instance_types().get(instance_type)
    if known is None or not known.gpu_count or not known.gpu_memory_gib:
        return None
    return known.gpu_memory_gib / known.gpu_count


def list_offers(offer_filter: OfferFilter,
                rows: Iterable[PriceRow] | None = None) -> list[Offer]:
    """List every type and region that fits offer_filter, cheapest first (by spot with spot)."""
    rows = list(price_rows() if rows is None else rows)
    check_filter(offer_filter, rows)
    by_type_region: dict[tuple[str, str], list[PriceRow]] = {}
    for row in rows:
        if _row_fits(row, offer_filter):
            by_type_region.setdefault((row.instance_type, row.region), []).append(row)
    offers = [_offer(group) for group in by_type_region.values()]
    offers = [offer for offer in offers if _offer_fits(offer, offer_filter)]
    return sort_offers(offers, offer_filter.spot)


def sort_offers(offers: Iterable[Offer], spot: bool) -> list[Offer]:
    """Cheapest first; offers without a price last; then by type and region."""
    def key(offer: Offer) -> tuple[bool, float, str, str]:
        price = offer.price(spot)
        return (price is None, price or 0.0, offer.instance_type, offer.region)

    return sorted(offers, key=key)


def check_filter(offer_filter: OfferFilter, rows: Sequence[PriceRow]) -> None:
    """Reject a GPU name or region that the catalog does not have, naming the closest one."""
    if offer_filter.gpu_name is not None:
        names = {row.accelerator for row in rows if row.accelerator}
        if offer_filter.gpu_name.lower() not in {name.lower() for name in names}:
            hint = catalog.nearest(offer_filter.gpu_name, names)
            fix = f"did you mean {hint!r}?" if hint else f"use one of: {', '.join(sorted(names))}"
            raise InvalidOfferFilter(f"no GPU named {offer_filter.gpu_name!r} in the price "
                                     f"catalog; {fix}")
    if offer_filter.region is not None:
        regions = {row.region for row in rows}
        if offer_filter.region not in regions:
            hint = catalog.nearest(offer_filter.region, regions)
            fix = f"did you mean {hint!r}?" if hint else "use an AWS region such as us-east-1"
            raise InvalidOfferFilter(f"no region {offer_filter.region!r} in the price catalog; "
                                     f"{fix}")


def _row_fits(row: PriceRow, offer_filter: OfferFilter) -> bool:
    if offer_filter.region is not None and row.region != offer_filter.region:
        return False
    if offer_filter.gpu_name is not None and (
            row.accelerator is None or row.accelerator.lower() != offer_filter.gpu_name.lower()):
        return False
    if offer_filter.gpu_count is not None and row.accelerator_count < offer_filter.gpu_count:
        return False
    if offer_filter.min_vcpus is not None and row.vcpus < offer_filter.min_vcpus:
        return False
    return offer_filter.min_memory_gib is None or row.memory_gib >= offer_filter.min_memory_gib


def _offer(rows: list[PriceRow]) -> Offer:
    """Fold one type's rows in one region (a row per zone) into one offer."""
    first = rows[0]
    on_demand = [row.on_demand for row in rows if row.on_demand is not None]
    spot = [row.spot for row in rows if row.spot is not None]
    return Offer(
        instance_type=first.instance_type,
        accelerator=first.accelerator,
        accelerator_count=first.accelerator_count,
        gpu_memory_gib=gpu_memory_per_gpu(first.instance_type),
        vcpus=first.vcpus,
        memory_gib=first.memory_gib,
        on_demand=min(on_demand) if on_demand else None,
        spot=min(spot) if spot else None,
        region=first.region,
        zones=tuple(sorted({row.zone_id for row in rows})),
        architecture=first.architecture,
    )


def _offer_fits(offer: Offer, offer_filter: OfferFilter) -> bool:
    minimum = offer_filter.min_gpu_memory_gib
    if minimum is not None and (offer.gpu_memory_gib is None
                                or offer.gpu_memory_gib < minimum * (1 - GPU_MEMORY_TOLERANCE)):
        return False
    price = offer.price(offer_filter.spot)
    if offer_filter.spot and price is None:
        return False
    return offer_filter.max_price is None or (price is not None
                                              and price <= offer_filter.max_price)


# Zone id -> zone name for every zone where a type is offered now, per (type, region).
LiveZones = dict[tuple[str, str], dict[str, str]]


def live_zones(ec2_for: Callable[[str], Any], offers: Sequence[Offer]) -> LiveZones:
    """Ask AWS, per region, in which zones each offered type is offered right now.

    ec2_for(region) returns an EC2 client. Two calls per region:
    DescribeInstanceTypeOfferings by zone id and DescribeAvailabilityZones for the names.
    """
    found: LiveZones = {}
    for region in sorted({offer.region for offer in offers}):
        ec2 = ec2_for(region)
        types = sorted({offer.instance_type for offer in offers if offer.region == region})
        names = {zone["ZoneId"]: zone["ZoneName"]
                 for zone in ec2.describe_availability_zones()["AvailabilityZones"]}
        paginator = ec2.get_paginator("describe_instance_type_offerings")
        for start in range(0, len(types), 100):
            pages = paginator.paginate(
                LocationType="availability-zone-id",
                Filters=[{"Name": "instance-type", "Values": types[start:start + 100]}])
            for page in pages:
                for offering in page["InstanceTypeOfferings"]:
                    zone_id = offering["Location"]
                    zones = found.setdefault((offering["InstanceType"], region), {})
                    zones[zone_id] = names.get(zone_id, zone_id)
    return found


def narrow_to_live(offers: Iterable[Offer], live: LiveZones) -> list[Offer]:
    """Keep the zones of each offer that AWS offers now, by name; drop offers left with none.

    Prices stay the catalog's lowest over all its zones.
    """
    narrowed = []
    for offer in offers:
        offered = live.get((offer.instance_type, offer.region), {})
        zones = tuple(sorted(offered[zone] for zone in offer.zones if zone in offered))
        if zones:
            narrowed.append(replace(offer, zones=zones))
    return narrowed
