"""envctl offers: catalog rows for a GPU, CPU and memory request, cheapest first.

The exact rows below are the shipped catalog's; a new catalog snapshot changes them on
purpose, so update them with it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest
from click.testing import CliRunner

from envctl.cli.main import cli
from envctl.definitions import catalog
from envctl.offers import (
    InvalidOfferFilter,
    Offer,
    OfferFilter,
    list_offers,
    live_zones,
    narrow_to_live,
    parse_gpu_request,
    parse_size_gib,
    select_gpu_type,
)
from envctl.prices import PRICES_DATE

US_EAST_1_ZONES = ("use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6")


def offers_for(gpu: str, region: str = "us-east-1", **limits: object) -> list[Offer]:
    return list_offers(OfferFilter(gpu_name=gpu, region=region, **limits))  # type: ignore[arg-type]


def types_of(offers: list[Offer]) -> list[str]:
    return [offer.instance_type for offer in offers]


def test_a10g_rows_cheapest_first():
    offers = offers_for("A10G")

    assert types_of(offers) == ["g5.xlarge", "g5.2xlarge", "g5.4xlarge", "g5.8xlarge",
                                "g5.16xlarge", "g5.12xlarge", "g5.24xlarge", "g5.48xlarge"]
    assert offers[0] == Offer(
        instance_type="g5.xlarge", accelerator="A10G", accelerator_count=1,
        gpu_memory_gib=22888 / 1024, vcpus=4.0, memory_gib=16.0, on_demand=1.006, spot=0.4246,
        region="us-east-1", zones=US_EAST_1_ZONES, architecture="x86_64")
    assert offers[-1].accelerator_count == 8
    assert offers[-1].on_demand == 16.288


def test_l4_rows_include_gr6():
    offers = offers_for("L4")

    assert types_of(offers)[:4] == ["g6.xlarge", "g6.2xlarge", "g6.4xlarge", "gr6.4xlarge"]
    assert set(types_of(offers)) == {"g6.xlarge", "g6.2xlarge", "g6.4xlarge", "g6.8xlarge",
                                     "g6.12xlarge", "g6.16xlarge", "g6.24xlarge", "g6.48xlarge",
                                     "gr6.4xlarge", "gr6.8xlarge"}
    first = offers[0]
    assert (first.on_demand, first.spot) == (0.8048, 0.349)
    assert first.zones == ("use1-az1", "use1-az2", "use1-az4", "use1-az6")


def test_a100_rows():
    offers = offers_for("A100")

    assert len(offers) == 1
    offer = offers[0]
    assert offer.instance_type == "p4d.24xlarge"
    assert offer.accelerator_count == 8
    assert offer.gpu_memory_gib == 40.0
    assert (offer.vcpus, offer.memory_gib) == (96.0, 1152.0)
    assert (offer.on_demand, offer.spot) == (21.957642, 2.4655)


def test_a100_80gb_is_its_own_name():
    offers = list_offers(OfferFilter(gpu_name="A100-80GB"))

    assert set(types_of(offers)) == {"p4de.24xlarge"}
    assert all(offer.gpu_memory_gib == 80.0 for offer in offers)


def test_h100_rows():
    offers = offers_for("H100")

    assert types_of(offers) == ["p5.4xlarge", "p5.48xlarge"]
    small, large = offers
    assert (small.on_demand, small.spot, small.accelerator_count) == (6.88, None, 1)
    assert (large.on_demand, large.spot, large.accelerator_count) == (55.04, 10.2397, 8)
    assert "use1-atl2-az1" in large.zones


def test_every_region_sorted_by_price():
    offers = list_offers(OfferFilter(gpu_name="H100"))

    prices = [offer.on_demand for offer in offers]
    assert prices == sorted(prices)
    assert len({offer.region for offer in offers}) > 1
    assert offers[0].on_demand == 6.88


def test_gpu_name_ignores_case():
    assert types_of(offers_for("a10g")) == types_of(offers_for("A10G"))


def test_gpu_count_is_a_minimum():
    offers = list_offers(OfferFilter(gpu_name="A10G", gpu_count=4, region="us-east-1"))

    assert types_of(offers) == ["g5.12xlarge", "g5.24xlarge", "g5.48xlarge"]


def test_min_gpu_memory_per_gpu():
    offers = list_offers(OfferFilter(min_gpu_memory_gib=parse_size_gib("24GB", "GB"),
                                     region="us-east-1"))
    gpus = {offer.accelerator for offer in offers}

    assert "A10G" in gpus
    assert "L4" in gpus
    assert "T4" not in gpus
    assert None not in gpus


def test_min_gpu_memory_40gb():
    offers = list_offers(OfferFilter(min_gpu_memory_gib=parse_size_gib("40", "GB"),
                                     region="us-east-1"))

    assert {offer.accelerator for offer in offers} == {"A100", "A100-80GB", "H100", "H200",
                                                       "L40S"}


def test_spot_sorts_by_spot_and_drops_missing():
    offers = list_offers(OfferFilter(gpu_name="H100", region="us-east-1", spot=True))

    assert types_of(offers) == ["p5.48xlarge"]


def test_max_price_uses_spot_with_spot():
    on_demand = list_offers(OfferFilter(gpu_name="L4", region="us-east-1", max_price=1.0))
    spot = list_offers(OfferFilter(gpu_name="L4", region="us-east-1", max_price=0.45,
                                   spot=True))

    assert types_of(on_demand) == ["g6.xlarge", "g6.2xlarge"]
    assert types_of(spot) == ["g6.xlarge", "g6.2xlarge"]
    assert [offer.spot for offer in spot] == sorted(offer.spot or 0 for offer in spot)


def test_cpu_and_memory_minimums():
    offers = list_offers(OfferFilter(min_vcpus=4, min_memory_gib=16, region="us-east-1"))

    assert types_of(offers)[:3] == ["t3a.xlarge", "t3.xlarge", "m5.xlarge"]
    assert all(offer.vcpus >= 4 and offer.memory_gib >= 16 for offer in offers)


@pytest.mark.parametrize("gpu,hint", [("A10", "did you mean 'A10G'?"),
                                      ("RTX9090", "use one of: A100")])
def test_unknown_gpu_names_known_ones(gpu, hint):
    with pytest.raises(InvalidOfferFilter) as raised:
        list_offers(OfferFilter(gpu_name=gpu))

    assert f"no GPU named {gpu!r}" in str(raised.value)
    assert hint in str(raised.value)


def test_unknown_region_suggests_one():
    with pytest.raises(InvalidOfferFilter) as raised:
        list_offers(OfferFilter(region="us-east1"))

    assert "did you mean 'us-east-1'?" in str(raised.value)


@pytest.mark.parametrize("text,bare,gib", [
    ("24GB", "GB", 24e9 / 1024**3),
    ("24 GiB", "GB", 24.0),
    ("24", "GB", 24e9 / 1024**3),
    ("16", "GiB", 16.0),
    ("1.5TiB", "GB", 1536.0),
    ("512mib", "GB", 0.5),
])
def test_parse_size(text, bare, gib):
    assert parse_size_gib(text, bare) == pytest.approx(gib)


@pytest.mark.parametrize("text", ["24XB", "GB", "-4GB", ""])
def test_parse_size_rejects(text):
    with pytest.raises(InvalidOfferFilter):
        parse_size_gib(text, "GB")


def test_selection_matches_listing():
    """scale and create pick from the same rows that offers lists."""
    offered = catalog.zone_offerings("us-east-1")["us-east-1a"]

    picked = select_gpu_type(parse_gpu_request("A10G"), "us-east-1", offered)

    assert picked.instance_type == offers_for("A10G")[0].instance_type


def test_narrow_to_live_names_zones_and_drops_unoffered():
    offers = offers_for("L4")[:2]
    live = {("g6.xlarge", "us-east-1"): {"use1-az6": "us-east-1a", "use1-az1": "us-east-1c",
                                         "use1-az3": "us-east-1e"}}

    narrowed = narrow_to_live(offers, live)

    assert types_of(narrowed) == ["g6.xlarge"]
    assert narrowed[0].zones == ("us-east-1a", "us-east-1c")
    assert narrowed[0].on_demand == offers[0].on_demand


def test_live_zones_from_sandbox(sandbox):
    offers = offers_for("A10G")[:2]

    def ec2_for(region: str):
        return boto3.client("ec2", **sandbox.client_settings(region))

    live = live_zones(ec2_for, offers)

    assert set(live) == {("g5.xlarge", "us-east-1"), ("g5.2xlarge", "us-east-1")}
    zones = live[("g5.xlarge", "us-east-1")]
    assert all(name.startswith("us-east-1") for name in zones.values())
    assert "us-east-1a" in zones.values()
    assert set(zones) <= {zone["ZoneId"] for zone in ec2_for("us-east-1")
                          .describe_availability_zones()["AvailabilityZones"]}


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_cli_table(tmp_path):
    result = invoke("--project", str(tmp_path), "offers", "--gpu", "A10G", "--region",
                    "us-east-1")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TYPE", "GPU", "GPU", "MEMORY", "VCPUS", "MEMORY", "ON-DEMAND",
                                "SPOT", "REGION", "ZONES"]
    assert lines[1].split() == ["g5.xlarge", "1x", "A10G", "22.4", "GiB", "4", "16", "GiB",
                                "$1.0060", "$0.4246", "us-east-1", ",".join(US_EAST_1_ZONES)]
    assert len(lines) == 9
    assert f"catalog of {PRICES_DATE}" in result.stderr


def test_cli_json(tmp_path):
    result = invoke("--project", str(tmp_path), "--output", "json", "offers", "--gpu",
                    "H100:8", "--region", "us-east-1", "--spot")

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["prices_date"] == PRICES_DATE
    assert [offer["instance_type"] for offer in data["offers"]] == ["p5.48xlarge"]
    assert data["offers"][0]["spot"] == 10.2397
    assert data["offers"][0]["gpu_count"] == 8


def test_cli_nothing_fits(tmp_path):
    result = invoke("--project", str(tmp_path), "offers", "--gpu", "A10G", "--max-price",
                    "0.01")

    assert result.exit_code == 0
    assert result.stdout.strip() == "No instance type fits; loosen the filters."


def test_cli_invalid_size_is_one_line(tmp_path):
    result = invoke("--project", str(tmp_path), "offers", "--min-gpu-memory", "lots")

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: invalid size 'lots'; use a number with GB or GiB, such as 24GB"]


def test_cli_live_names_zones(tmp_path, sandbox, monkeypatch):
    (tmp_path / "envctl.yaml").write_text(
        f"region: us-east-1\naws:\n  endpoints:\n    ec2: {sandbox.aws_endpoint}\n")
    for name, value in sandbox.environment().items():
        monkeypatch.setenv(name, value)

    result = invoke("--project", str(tmp_path), "--output", "json", "offers", "--gpu", "A10G",
                    "--region", "us-east-1", "--live")

    assert result.exit_code == 0, result.stderr
    first = json.loads(result.stdout)["offers"][0]
    assert first["instance_type"] == "g5.xlarge"
    assert "us-east-1a" in first["zones"]
    assert all(zone.startswith("us-east-1") and "-az" not in zone for zone in first["zones"])


def test_cli_live_without_credentials(tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "ENVCTL_SANDBOX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Should credentials turn up after all, the call still goes nowhere but a closed port.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")

    result = invoke("--project", str(tmp_path), "offers", "--gpu", "A10G", "--region",
                    "us-east-1", "--live")

    assert result.exit_code == 1
    assert "error: --live needs AWS credentials" in result.stderr
    assert result.stdout == ""


def test_offers_skips_heavy_imports(tmp_path):
    probe = ("import sys; from click.testing import CliRunner; from envctl.cli.main import cli;"
             "result = CliRunner().invoke(cli, sys.argv[1:]); "
             "print(result.exit_code, sorted(m for m in ('boto3', 'cdktn', 'jsii', 'hvac') "
             "if m in sys.modules))")
    completed = subprocess.run(
        [sys.executable, "-c", probe, "--project", str(tmp_path), "offers", "--gpu", "L4"],
        capture_output=True, text=True, check=True)

    assert completed.stdout.strip() == "0 []"
