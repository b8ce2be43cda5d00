"""The pull-request comment and review.json, built from plan data without a cloud."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from envctl.definitions.models import SecretRef
from envctl.planning.impact import DataImpact
from envctl.planning.plans import EnvironmentPlan
from envctl.prices import PRICES_DATE
from envctl.review.cost import CostEstimate, ebs_catalog
from envctl.review.markdown import COMMENT_MARKER, GITHUB_COMMENT_LIMIT, render_markdown
from envctl.review.policy import POLICIES, PolicyResult
from envctl.review.report import EnvironmentReview, Review

# Built from parts, so this file contains no complete token.
TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"


def plan_for(name: str, number: int, resources: int = 3, destroy: bool = False,
             impact: DataImpact | None = None) -> EnvironmentPlan:
    changes = tuple((f"module.network_{i}.aws_security_group_rule.rule_for_port_{i}", "replace")
                    for i in range(resources))
    return EnvironmentPlan(
        environment=name,
        environment_id=f"env-{number:08x}",
        plan_file=Path(f"/work/plans/{name}.tfplan"),
        json_file=Path(f"/work/plans/{name}.plan.json"),
        stack_sha256="0" * 64,
        has_changes=True,
        counts={"add": resources, "change": 0, "destroy": resources},
        impact=impact or DataImpact(box="replaced", root_disk="replaced",
                                    reasons=("aws_instance.instance will be replaced "
                                             "(availability_zone forces replacement)",)),
        changes=changes,
        destroy=destroy,
    )


def cost(instance_type: str | None, hourly: float, storage: float, hours: float) -> CostEstimate:
    return CostEstimate(instance_type=instance_type, region="us-east-1", hourly_usd=hourly,
                        spot_hourly_usd=None, storage_monthly_usd=storage,
                        running_hours_per_month=hours, monthly_usd=hourly * hours + storage,
                        always_on_monthly_usd=hourly * 730 + storage)


def passing(name: str) -> tuple[PolicyResult, ...]:
    return tuple(PolicyResult(policy, name, True, description)
                 for policy, (description, _check) in POLICIES.items())


def review_of(name: str, number: int, resources: int = 3,
              failing: str | None = None) -> EnvironmentReview:
    policy = passing(name)
    if failing:
        policy = (*policy[:-1], PolicyResult("max-hourly-cost", name, False, failing))
    return EnvironmentReview(
        name=name,
        environment_id=f"env-{number:08x}",
        change="modified",
        reasons=(f"environments/{name}.yaml changed",),
        plan=plan_for(name, number, resources),
        policy=policy,
        cost_before=cost("g5.xlarge", 1.006, 24.0, 189),
        cost_after=cost("t3.large", 0.0832, 24.0, 189),
        new_secrets=(SecretRef(name="HF_TOKEN", scope="template"),),
    )


def forty_large_reviews() -> Review:
    reviews = [review_of(f"team-{index:02d}-training-environment-with-a-long-name", index,
                         resources=120) for index in range(40)]
    reviews[17] = review_of("costly", 99, resources=120, failing="$9.000/h is over the limit")
    return Review(tuple(reviews), "plans", ref="origin/main", base_commit="a" * 40)


def cut_counts(text: str) -> tuple[int, int]:
    match = re.search(r"(\d+) of 40 environments are left out of the table and (\d+) of their "
                      r"details are left out", text)
    assert match, text[-2000:]
    return int(match.group(1)), int(match.group(2))


def test_forty_environments_fit_the_comment_limit():
    text = render_markdown(forty_large_reviews())

    assert len(text.encode("utf-8")) <= GITHUB_COMMENT_LIMIT
    assert "40 environments changed since `origin/main`" in text


def test_forty_environments_say_how_many_were_cut():
    text = render_markdown(forty_large_reviews())

    rows_cut, details_cut = cut_counts(text)
    assert rows_cut == 0
    assert details_cut > 0
    assert text.count("<details>") == 40 - details_cut
    assert text.count("\n| `") == 40 - rows_cut


def test_failing_environment_comes_first():
    text = render_markdown(forty_large_reviews())

    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `costly` |")
    assert "❌ 1 failed" in rows[0]
    assert "<details><summary><b>costly</b>" in text
    assert "$9.000/h is over the limit" in text


def test_small_limit_cuts_rows_too():
    text = render_markdown(forty_large_reviews(), limit=4000)

    rows_cut, details_cut = cut_counts(text)
    assert len(text.encode("utf-8")) <= 4000
    assert rows_cut > 0
    assert details_cut == 40
    assert text.count("\n| `") == 40 - rows_cut


def test_small_review_has_no_cut_note():
    review = Review((review_of("sd-box", 1),), "plans/", ref="main", base_commit="b" * 40)

    text = render_markdown(review)

    assert text.startswith(COMMENT_MARKER)
    assert "left out" not in text
    assert "### envctl plan: 1 environment changed since `main` (merge base `bbbbbbbbbbbb`)" in (
        text)
    assert "Full plan: `plans/sd-box.plan.txt`" in text
    assert "Apply after merge: `envctl apply sd-box --plan-dir plans/`" in text


def test_row_shows_costs_before_and_after():
    review = Review((review_of("sd-box", 1),), "plans")

    row = next(line for line in render_markdown(review).splitlines()
               if line.startswith("| `sd-box`"))

    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2] == "3 to add, 0 to change, 3 to destroy"
    assert cells[3] == "volume kept, root disk replaced, box replaced"
    assert cells[4] == "✅ 8 passed"
    assert cells[5] == "$1.039 → $0.116"
    assert cells[6] == "$214.13 → $39.72 ($758.38 → $84.74)"


def test_details_list_new_secret_names_only():
    text = render_markdown(Review((review_of("sd-box", 1),), "plans"))

    assert "Starts requesting secrets `HF_TOKEN` (template scope)" in text
    assert "the values stay in Vault" in text


def test_long_change_list_is_shortened():
    text = render_markdown(Review((review_of("sd-box", 1, resources=45),), "plans"))

    assert "and 25 more resource changes, listed in the full plan" in text
    assert text.count("rule_for_port_") == 20


def test_data_loss_is_flagged():
    impact = DataImpact(volume="destroyed", box="destroyed", root_disk="destroyed")
    review = EnvironmentReview(name="gone", environment_id="env-00000001", change="deleted",
                               plan=plan_for("gone", 1, destroy=True, impact=impact))

    text = render_markdown(Review((review,), "plans"))

    assert "**1 lose(s) data**" in text
    assert "⚠️ **volume destroyed, root disk destroyed, box destroyed**" in text
    assert "Apply after merge" not in text


def test_secret_in_any_field_is_redacted():
    review = EnvironmentReview(
        name="sd-box", environment_id="env-00000001", change="modified",
        reasons=(f"token={TOKEN}",), plan=plan_for("sd-box", 1),
        policy=(PolicyResult("required-tags", "sd-box", False, f"tag {TOKEN} missing"),),
        new_secrets=(SecretRef(name=TOKEN),), notes=(f"see {TOKEN}",))

    text = render_markdown(Review((review,), "plans"))
    data = json.dumps(Review((review,), "plans").to_json())

    assert TOKEN not in text
    assert TOKEN not in data
    assert "[REDACTED]" in text


def test_nothing_changed():
    text = render_markdown(Review((), "plans", ref="origin/main", base_commit="c" * 40))

    assert "no environment changed since `origin/main`" in text
    assert "| environment |" not in text


def test_json_has_stable_keys():
    data = Review((review_of("sd-box", 1),), "plans", ref="main",
                  base_commit="d" * 40).to_json()

    assert set(data) == {"version", "ref", "base_commit", "plans_dir", "prices", "totals",
                         "environments"}
    assert data["version"] == 1
    assert set(data["prices"]) == {"ec2_date", "ebs_date", "hours_per_month"}
    assert set(data["totals"]) == {"environments", "with_changes", "policy_failures",
                                   "data_loss", "monthly_usd_before", "monthly_usd_after"}
    environment = data["environments"][0]
    assert set(environment) == {"name", "id", "change", "reasons", "plan", "policy", "cost",
                                "new_secrets", "notes"}
    assert set(environment["plan"]) == {"has_changes", "destroy", "counts", "data_impact",
                                        "changes", "plan_file", "text_file"}
    assert environment["plan"]["text_file"] == "sd-box.plan.txt"
    assert environment["new_secrets"] == [{"name": "HF_TOKEN", "scope": "template"}]
    assert environment["cost"]["after"]["hourly_usd"] == 0.0832


def test_json_totals():
    reviews = (review_of("a", 1), review_of("b", 2, failing="too costly"))

    totals = Review(reviews, "plans").to_json()["totals"]

    assert totals["environments"] == 2
    assert totals["with_changes"] == 2
    assert totals["policy_failures"] == 1
    assert totals["data_loss"] == 0
    assert totals["monthly_usd_before"] == pytest.approx(2 * (1.006 * 189 + 24))


def test_comment_and_json_show_catalog_dates():
    review = Review((review_of("sd-box", 1),), "plans")

    text = render_markdown(review)
    prices = review.to_json()["prices"]

    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", PRICES_DATE)
    assert f"EC2 of {PRICES_DATE}, EBS of {ebs_catalog()['date']}" in text
    assert prices["ec2_date"] == PRICES_DATE
    assert prices["ebs_date"] == ebs_catalog()["date"]
