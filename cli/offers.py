"""envctl offers: instance types that fit a GPU, CPU and memory request, cheapest first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from envctl.cli.options import Context, open_workspace, pass_context, sandbox_option
from envctl.errors import CloudError, DefinitionError
from envctl.offers import (
    Offer,
    OfferFilter,
    list_offers,
    live_zones,
    narrow_to_live,
    parse_gpu_request,
    parse_size_gib,
)
from envctl.prices import PRICES_DATE

HEADERS = ("TYPE", "GPU", "GPU MEMORY", "VCPUS", "MEMORY", "ON-DEMAND", "SPOT", "REGION",
           "ZONES")


@click.command()
@click.option("--gpu", metavar="NAME[:N]",
              help="GPU model and the minimum number of them, such as A10G or A100:8.")
@click.option("--min-gpu-memory", metavar="SIZE",
              help="Memory per GPU, such as 24GB (a bare number is GB).")
@click.option("--cpus", type=click.IntRange(min=1), help="Minimum vCPUs.")
@click.option("--memory", metavar="SIZE",
              help="Minimum instance memory, such as 64GiB (a bare number is GiB).")
@click.option("--region", help="Only this AWS region (default: every region in the catalog).")
@click.option("--spot", is_flag=True,
              help="Sort and filter by spot price; leave out types without one.")
@click.option("--max-price", type=click.FloatRange(min=0), metavar="USD",
              help="Highest hourly price in USD (spot with --spot, else on-demand).")
@click.option("--live", is_flag=True,
              help="Ask AWS which zones offer each type now and show zone names; needs AWS "
              "credentials (or --sandbox).")
@sandbox_option
@pass_context
def offers(ctx: Context, gpu: str | None, min_gpu_memory: str | None, cpus: int | None,
           memory: str | None, region: str | None, spot: bool, max_price: float | None,
           live: bool, sandbox: bool) -> None:
    """List instance types that fit, with hourly prices, cheapest first.

    Prices come from the catalog shipped with envctl (its date is printed); zones are
    availability zone ids (use1-az1) unless --live names them.

    \b
    Example:
      envctl offers --gpu A10G --region us-east-1
      envctl offers --min-gpu-memory 40GB --spot --max-price 5
    """
    offer_filter = _offer_filter(gpu, min_gpu_memory, cpus, memory, region, spot, max_price)
    found = list_offers(offer_filter)
    if live and found:
        found = _narrow_live(found, _ec2_clients(ctx, sandbox))
    click.echo(f"Prices in USD per hour from the envctl catalog of {PRICES_DATE}; check "
               "current prices with AWS.", err=True)
    text = render_offers(found) if found else "No instance type fits; loosen the filters."
    ctx.emit(text, {"prices_date": PRICES_DATE, "offers": [offer.to_json() for offer in found]})


def _offer_filter(gpu: str | None, min_gpu_memory: str | None, cpus: int | None,
                  memory: str | None, region: str | None, spot: bool,
                  max_price: float | None) -> OfferFilter:
    request = parse_gpu_request(gpu) if gpu else None
    return OfferFilter(
        gpu_name=request.name if request else None,
        # A bare model name lists every size of it, and NAME:N lists those with N or more.
        gpu_count=request.count if request and ":" in str(gpu) else None,
        min_gpu_memory_gib=parse_size_gib(min_gpu_memory, "GB") if min_gpu_memory else None,
        min_vcpus=cpus,
        min_memory_gib=parse_size_gib(memory, "GiB") if memory else None,
        region=region,
        spot=spot,
        max_price=max_price,
    )


def _ec2_clients(ctx: Context, sandbox: bool) -> Callable[[str], Any]:
    """EC2 clients per region: the project's way of reaching AWS, or boto3's defaults."""
    from envctl.definitions.loader import find_root
    from envctl.workspace import sandbox_requested

    in_project = True
    try:
        find_root(Path(ctx.project_dir))
    except DefinitionError:
        in_project = False
    if in_project or sandbox_requested(sandbox):
        workspace = open_workspace(ctx, sandbox, None, None)
        return lambda region: workspace.client("ec2", region)

    import boto3

    return lambda region: boto3.session.Session(region_name=region).client("ec2")


def _narrow_live(found: Sequence[Offer], ec2_for: Callable[[str], Any]) -> list[Offer]:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        return narrow_to_live(found, live_zones(ec2_for, found))
    except NoCredentialsError:
        raise CloudError("--live needs AWS credentials and none were found; set AWS_PROFILE "
                         "or AWS_ACCESS_KEY_ID, pass --sandbox, or leave out --live") from None
    except (ClientError, BotoCoreError) as error:
        raise CloudError(f"--live: asking AWS for instance type offerings failed: {error}; "
                         "check the credentials and region, or leave out --live") from None


def render_offers(found: Sequence[Offer]) -> str:
    """Render offers as a plain-text table, one offer per line, columns aligned."""
    rows = [HEADERS] + [_cells(offer) for offer in found]
    widths = [max(len(row[index]) for row in rows) for index in range(len(HEADERS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                        strict=True)).rstrip()
                     for row in rows)


def _cells(offer: Offer) -> tuple[str, ...]:
    gpu = f"{offer.accelerator_count}x {offer.accelerator}" if offer.accelerator else "-"
    gpu_memory = f"{offer.gpu_memory_gib:.1f} GiB" if offer.gpu_memory_gib else "-"
    return (offer.instance_type, gpu, gpu_memory, f"{offer.vcpus:g}",
            f"{offer.memory_gib:g} GiB", _price(offer.on_demand), _price(offer.spot),
            offer.region, ",".join(offer.zones))


def _price(value: float | None) -> str:
    return f"${value:.4f}" if value is not None else "-"
