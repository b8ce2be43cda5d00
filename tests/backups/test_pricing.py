"""The shipped snapshot storage price list."""

from __future__ import annotations

from envctl.backups.pricing import monthly_cost, snapshot_prices


def test_price_list_names_source_and_date():
    prices = snapshot_prices()

    assert "docs.aws.amazon.com" in prices.source
    assert prices.date[:4].isdigit()


def test_us_east_1_standard_and_archive():
    prices = snapshot_prices()

    assert prices.usd_per_gb_month("us-east-1") == 0.05
    assert prices.usd_per_gb_month("us-east-1", "archive") == 0.0125


def test_unknown_region_has_no_price():
    assert snapshot_prices().usd_per_gb_month("ap-south-2") is None
    assert monthly_cost(100, "ap-south-2") is None


def test_monthly_cost():
    assert monthly_cost(100, "us-east-1") == 5.0
    assert monthly_cost(20, "us-east-1") == 1.0
    assert monthly_cost(100, "us-east-1", "archive") == 1.25
