"""Cost estimates: catalog prices per running hour, storage per month, autostop's saving."""

from __future__ import annotations

import csv
from importlib.resources import files

import pytest
from review_support import environment_yaml, load_spec

from envctl.definitions.loader import load_project
from envctl.definitions.project import CostSettings
from envctl.review.cost import (
    HOURS_PER_MONTH,
    estimate_cost,
    expected_running_hours,
    retained_volume_cost,
    volume_monthly_usd,
)


def catalog_on_demand(instance_type: str, region: str) -> set[float]:
    """The on-demand prices the shipped CSV lists for a type in a region, read directly."""
    text = (files("envctl.definitions") / "data" / "aws-ec2-prices.csv").read_text()
    return {float(row["Price"]) for row in csv.DictReader(text.splitlines())
            if row["InstanceType"] == instance_type and row["Region"] == region and row["Price"]}


@pytest.mark.parametrize("instance_type,expected", [("g5.xlarge", 1.006), ("t3.large", 0.0832)])
def test_hourly_matches_catalog(tmp_path, instance_type, expected):
    extra = f"instance:\n  type: {instance_type}\n"
    text = environment_yaml("box", 1).replace("instance:\n  type: g5.xlarge\n", extra)

    cost = estimate_cost(load_spec(tmp_path, text), CostSettings())

    assert catalog_on_demand(instance_type, "us-east-1") == {expected}
    assert cost.hourly_usd == expected
    assert cost.instance_type == instance_type
    assert cost.spot_hourly_usd is not None and cost.spot_hourly_usd < expected


def test_storage_counts_data_and_root_disk(tmp_path):
    cost = estimate_cost(load_spec(tmp_path, environment_yaml("box", 1)), CostSettings())

    # 200 GiB data volume and the 100 GiB root disk, both gp3 at $0.08 per GB-month.
    assert cost.storage_monthly_usd == pytest.approx(300 * 0.08)


def test_autostop_estimate_below_always_on_by_expected_hours(tmp_path):
    spec = load_spec(tmp_path, environment_yaml("box", 1))
    costs = CostSettings(active_hours_per_day=8, workdays_per_month=21)

    cost = estimate_cost(spec, costs)

    # 21 workdays of 8 active hours, plus the 60-minute idle wait before each stop.
    assert cost.running_hours_per_month == pytest.approx(21 * 9)
    assert cost.always_on_monthly_usd == pytest.approx(1.006 * HOURS_PER_MONTH + 24.0)
    assert cost.monthly_usd == pytest.approx(1.006 * 189 + 24.0)
    assert cost.always_on_monthly_usd - cost.monthly_usd == pytest.approx(
        1.006 * (HOURS_PER_MONTH - 189))
    assert cost.autostop_saving_usd == pytest.approx(1.006 * (HOURS_PER_MONTH - 189))


def test_t3_large_autostop_saving(tmp_path):
    text = environment_yaml("box", 1).replace("g5.xlarge", "t3.large")

    cost = estimate_cost(load_spec(tmp_path, text), CostSettings())

    assert cost.hourly_usd == 0.0832
    assert cost.always_on_monthly_usd - cost.monthly_usd == pytest.approx(
        0.0832 * (HOURS_PER_MONTH - 189))


def test_no_autostop_runs_all_month(tmp_path):
    text = environment_yaml("box", 1).replace("idle_minutes: 60", "idle_minutes: null")

    cost = estimate_cost(load_spec(tmp_path, text), CostSettings())

    assert cost.running_hours_per_month == HOURS_PER_MONTH
    assert cost.monthly_usd == cost.always_on_monthly_usd


def test_costs_settings_come_from_project_file(tmp_path):
    settings = "region: us-east-1\ncosts:\n  active_hours_per_day: 4\n  workdays_per_month: 10\n"

    spec = load_spec(tmp_path, environment_yaml("box", 1), settings=settings)

    costs = load_project(tmp_path).settings.costs
    assert expected_running_hours(spec.autostop_minutes, costs) == pytest.approx(10 * 5)


def test_expected_hours_never_exceed_a_month():
    costs = CostSettings(active_hours_per_day=24, workdays_per_month=31)

    assert expected_running_hours(600, costs) == HOURS_PER_MONTH


def test_running_hourly_adds_storage(tmp_path):
    cost = estimate_cost(load_spec(tmp_path, environment_yaml("box", 1)), CostSettings())

    assert cost.running_hourly_usd == pytest.approx(1.006 + 24.0 / HOURS_PER_MONTH)


@pytest.mark.parametrize("volume_type,size,iops,throughput,expected", [
    ("gp3", 100, None, None, 8.0),
    ("gp3", 100, 4000, 250, 8.0 + 1000 * 0.005 + 125 * 0.04),
    ("gp2", 100, None, None, 10.0),
    ("io2", 100, 1000, None, 12.5 + 1000 * 0.065),
    ("io2", 100, 40000, None, 12.5 + 32000 * 0.065 + 8000 * 0.0455),
    ("io2", 100, 70000, None, 12.5 + 32000 * 0.065 + 32000 * 0.0455 + 6000 * 0.032),
])
def test_volume_price(volume_type, size, iops, throughput, expected):
    price = volume_monthly_usd("us-east-1", volume_type, size, iops, throughput)

    assert price == pytest.approx(expected)


def test_unknown_region_storage_is_unknown(tmp_path):
    text = environment_yaml("box", 1).replace("availability_zone: us-east-1a\n",
                                              "region: eu-west-1\n")

    cost = estimate_cost(load_spec(tmp_path, text), CostSettings())

    assert cost.hourly_usd is not None
    assert cost.storage_monthly_usd is None
    assert cost.monthly_usd is None
    assert cost.running_hourly_usd is None


def test_retained_volume_costs_storage_only(tmp_path):
    cost = retained_volume_cost(load_spec(tmp_path, environment_yaml("box", 1)))

    assert cost.hourly_usd == 0.0
    assert cost.monthly_usd == pytest.approx(200 * 0.08)
    assert cost.always_on_monthly_usd == cost.monthly_usd
