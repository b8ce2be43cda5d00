"""The review of a change: per environment, its plan, policy results, costs and new secrets.

`Review.to_json()` is the machine-readable form that `envctl plan --format json` prints and
that the plan folder keeps as review.json. Its keys are stable within a version, and
version changes when a key is renamed or removed:

    version          1
    ref              the git ref compared against, or null without --changed-since
    base_commit      the merge base of HEAD and ref, or null
    plans_dir        the folder with the full plans (NAME.plan.txt, NAME.plan.json)
    prices           ec2_date, ebs_date, hours_per_month: where the costs come from
    totals           environments, with_changes, policy_failures, data_loss,
                     monthly_usd_before, monthly_usd_after
    environments[]   name, id, change (added, modified, dependency, deleted, requested),
                     reasons[], plan (null when not planned), policy[], cost {before, after},
                     new_secrets[] {name, scope}, notes[]

A plan is has_changes, destroy, counts {add, change, destroy}, data_impact {label, volume,
root_disk, box, loses_data, reasons[]}, changes[] {address, action}, plan_file and
text_file (names inside plans_dir). A policy result is policy, passed, waiver (the reason
from policy.exceptions, or null) and message. A cost is CostEstimate.to_json(). Every string
passes through redaction, and no secret value or tag value is ever included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from envctl.definitions.models import SecretRef
from envctl.definitions.spec import EnvironmentSpec
from envctl.planning.plans import EnvironmentPlan
from envctl.prices import PRICES_DATE
from envctl.review.cost import HOURS_PER_MONTH, CostEstimate, ebs_catalog
from envctl.review.policy import PolicyResult
from envctl.review.redact import redact_data

REVIEW_VERSION = 1


@dataclass(frozen=True)
class EnvironmentReview:
    """One environment's part of a change, as a reviewer needs it."""

    name: str
    environment_id: str
    change: str
    reasons: tuple[str, ...] = ()
    plan: EnvironmentPlan | None = None
    policy: tuple[PolicyResult, ...] = ()
    cost_before: CostEstimate | None = None
    cost_after: CostEstimate | None = None
    new_secrets: tuple[SecretRef, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def failed_policies(self) -> list[PolicyResult]:
        return [result for result in self.policy if result.failed]

    @property
    def loses_data(self) -> bool:
        return self.plan is not None and self.plan.impact.loses_data

    @property
    def has_changes(self) -> bool:
        return self.plan is not None and self.plan.has_changes

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.environment_id,
            "change": self.change,
            "reasons": list(self.reasons),
            "plan": plan_json(self.plan) if self.plan is not None else None,
            "policy": [result.to_json() for result in self.policy],
            "cost": {"before": self.cost_before.to_json() if self.cost_before else None,
                     "after": self.cost_after.to_json() if self.cost_after else None},
            "new_secrets": [{"name": s.name, "scope": s.scope} for s in self.new_secrets],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Review:
    """A whole change: every environment it touches, and where the full plans are."""

    environments: tuple[EnvironmentReview, ...]
    plans_dir: str
    ref: str | None = None
    base_commit: str | None = None
    totals: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "totals", _totals(self.environments))

    @property
    def failed_policies(self) -> list[PolicyResult]:
        return [result for env in self.environments for result in env.failed_policies]

    def to_json(self) -> dict[str, Any]:
        data = {
            "version": REVIEW_VERSION,
            "ref": self.ref,
            "base_commit": self.base_commit,
            "plans_dir": self.plans_dir,
            "prices": {"ec2_date": PRICES_DATE, "ebs_date": ebs_catalog()["date"],
                       "hours_per_month": HOURS_PER_MONTH},
            "totals": self.totals,
            "environments": [env.to_json() for env in self.environments],
        }
        redacted: dict[str, Any] = redact_data(data)
        return redacted


def plan_json(plan: EnvironmentPlan) -> dict[str, Any]:
    impact = plan.impact
    return {
        "has_changes": plan.has_changes,
        "destroy": plan.destroy,
        "counts": dict(plan.counts),
        "data_impact": {"label": impact.label(), "volume": impact.volume,
                        "root_disk": impact.root_disk, "box": impact.box,
                        "loses_data": impact.loses_data, "reasons": list(impact.reasons)},
        "changes": [{"address": address, "action": action} for address, action in plan.changes],
        "plan_file": plan.plan_file.name,
        "text_file": text_file_name(plan),
    }


def text_file_name(plan: EnvironmentPlan) -> str:
    """Return the name, inside the plan folder, of the plan text saved next to the plan."""
    return plan.plan_file.with_suffix(".plan.txt").name


def new_secrets(before: EnvironmentSpec | None,
                after: EnvironmentSpec | None) -> tuple[SecretRef, ...]:
    """Secrets the after spec requests that the before spec did not: names and scopes only."""
    if after is None:
        return ()
    known = {(secret.name, secret.scope) for secret in (before.secrets if before else ())}
    return tuple(secret for secret in after.secrets if (secret.name, secret.scope) not in known)


def _totals(environments: Sequence[EnvironmentReview]) -> dict[str, Any]:
    return {
        "environments": len(environments),
        "with_changes": sum(env.has_changes for env in environments),
        "policy_failures": sum(len(env.failed_policies) for env in environments),
        "data_loss": sum(env.loses_data for env in environments),
        "monthly_usd_before": _sum_known(env.cost_before for env in environments),
        "monthly_usd_after": _sum_known(env.cost_after for env in environments),
    }


def _sum_known(costs: Any) -> float | None:
    values = [cost.monthly_usd for cost in costs if cost is not None]
    if not values or any(value is None for value in values):
        return None
    return float(sum(values))
