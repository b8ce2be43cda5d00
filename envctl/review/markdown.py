"""The pull-request comment: one table row per environment, then details, under GitHub's limit.

Reviewers read the table; the details (resource changes, policy messages, costs, new secret
names) fold away below it. When everything does not fit, details go first and table rows
after, the least urgent ones first, and the comment states how many were cut. The full plans
stay in the plan folder.
"""

from __future__ import annotations

from collections.abc import Callable

from envctl.prices import PRICES_DATE
from envctl.review.cost import HOURS_PER_MONTH, CostEstimate, ebs_catalog
from envctl.review.redact import redact
from envctl.review.report import EnvironmentReview, Review, text_file_name

# GitHub rejects issue and pull-request comments longer than 65,536 characters. Sizes here
# are counted in UTF-8 bytes, never fewer than characters, so the comment stays under it.
GITHUB_COMMENT_LIMIT = 65536
# Marks envctl's comment so that CI updates it on the next push instead of adding another.
COMMENT_MARKER = "<!-- envctl-plan -->"
MAX_LISTED_CHANGES = 20
MAX_NAMED_IN_APPLY = 20
SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}
TABLE_HEADER = ("| environment | change | plan | data impact | policy | $/h running "
                "| monthly with autostop (always on) |\n|---|---|---|---|---|---|---|")


def render_markdown(review: Review, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """Render the comment for a whole change, never longer than limit bytes."""
    ordered = sorted(review.environments, key=_urgency)
    head = "\n\n".join([COMMENT_MARKER, _title(review), _overview(review)])
    foot = _footer(review)
    if not ordered:
        return redact(f"{head}\n\n{foot}\n")
    rows = [redact(_row(env)) for env in ordered]
    details = [redact(_details(env, review.plans_dir)) for env in ordered]
    kept_rows, kept_details = _fit(head, foot, rows, details, limit)
    body = [head, "\n".join([TABLE_HEADER, *rows[:kept_rows]])]
    body.extend(details[:kept_details])
    cut_note = _cut_note(len(ordered), len(ordered) - kept_rows, len(ordered) - kept_details)
    if cut_note:
        body.append(cut_note)
    body.append(foot)
    return "\n\n".join(body) + "\n"


def _fit(head: str, foot: str, rows: list[str], details: list[str],
         limit: int) -> tuple[int, int]:
    """Count the rows and detail blocks that fit, keeping room for the note about the cut."""
    total = len(rows)
    budget = limit - _size(head) - _size(foot) - _size(TABLE_HEADER) - 16
    budget -= _size(_cut_note(total, total, total))
    kept_rows = 0
    for row in rows:
        if _size(row) + 1 > budget:
            break
        budget -= _size(row) + 1
        kept_rows += 1
    kept_details = 0
    for block in details[:kept_rows]:
        if _size(block) + 2 > budget:
            break
        budget -= _size(block) + 2
        kept_details += 1
    return kept_rows, kept_details


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _urgency(env: EnvironmentReview) -> tuple[bool, bool, bool, str]:
    return (not env.failed_policies, not env.loses_data, not env.has_changes, env.name)


def _title(review: Review) -> str:
    count = len(review.environments)
    noun = "environment" if count == 1 else "environments"
    if review.ref is None:
        return f"### envctl plan: {count} {noun}"
    since = f"`{review.ref}`"
    if review.base_commit:
        since += f" (merge base `{review.base_commit[:12]}`)"
    if not count:
        return f"### envctl plan: no environment changed since {since}"
    return f"### envctl plan: {count} {noun} changed since {since}"


def _overview(review: Review) -> str:
    totals = review.totals
    failures = totals["policy_failures"]
    parts = [
        f"{totals['with_changes']} with changes",
        f"**{failures} policy failure(s)**" if failures else "policies pass",
        f"**{totals['data_loss']} lose(s) data**" if totals["data_loss"] else "no data loss",
    ]
    before, after = totals["monthly_usd_before"], totals["monthly_usd_after"]
    if before is not None or after is not None:
        parts.append(f"monthly estimate {_money(before)} → {_money(after)}")
    return " · ".join(parts)


def _row(env: EnvironmentReview) -> str:
    cells = [f"`{env.name}`", env.change, _plan_cell(env), _impact_cell(env), _policy_cell(env),
             _transition(env.cost_before, env.cost_after, _hourly),
             _monthly_cell(env.cost_before, env.cost_after)]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _plan_cell(env: EnvironmentReview) -> str:
    plan = env.plan
    if plan is None:
        return "not planned"
    if not plan.has_changes:
        return "no changes"
    counts = plan.counts
    text = f"{counts['add']} to add, {counts['change']} to change, {counts['destroy']} to destroy"
    return f"destroy: {text}" if plan.destroy else text


def _impact_cell(env: EnvironmentReview) -> str:
    if env.plan is None or not env.plan.has_changes:
        return "-"
    label = env.plan.impact.label()
    return f"⚠️ **{label}**" if env.loses_data else label


def _policy_cell(env: EnvironmentReview) -> str:
    if not env.policy:
        return "-"
    failed = len(env.failed_policies)
    waived = sum(1 for result in env.policy if result.waiver)
    passed = sum(1 for result in env.policy if result.passed)
    if failed:
        return f"❌ {failed} failed"
    return f"✅ {passed} passed" + (f", {waived} waived" if waived else "")


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def _rate(value: float | None) -> str:
    """Format an hourly price with the catalog's precision: $1.006, $0.0832, $0.50."""
    if value is None:
        return "n/a"
    whole, _, fraction = f"{value:,.4f}".partition(".")
    return f"${whole}.{fraction.rstrip('0').ljust(2, '0')}"


def _hourly(cost: CostEstimate) -> str:
    value = cost.running_hourly_usd
    return "n/a" if value is None else f"${value:,.3f}"


def _transition(before: CostEstimate | None, after: CostEstimate | None,
                show: Callable[[CostEstimate], str]) -> str:
    if before is None:
        return "-" if after is None else f"{show(after)} (new)"
    if after is None:
        return f"{show(before)} → gone"
    return f"{show(before)} → {show(after)}" if show(before) != show(after) else show(after)


def _monthly_cell(before: CostEstimate | None, after: CostEstimate | None) -> str:
    expected = _transition(before, after, lambda cost: _money(cost.monthly_usd))
    always = _transition(before, after, lambda cost: _money(cost.always_on_monthly_usd))
    return f"{expected} ({always})"


def _details(env: EnvironmentReview, plans_dir: str) -> str:
    """Render the folded block of one environment: paragraphs separated by blank lines."""
    paragraphs = [f"<details><summary><b>{env.name}</b> ({env.change}): "
                  f"{_plan_cell(env)}</summary>"]
    if env.reasons:
        paragraphs.append(f"Planned because {'; '.join(env.reasons)}.")
    paragraphs.extend(part for part in (_change_list(env), _policy_list(env),
                                        _cost_list(env.cost_before, env.cost_after)) if part)
    if env.new_secrets:
        names = ", ".join(f"`{secret.name}` ({secret.scope} scope)" for secret in env.new_secrets)
        paragraphs.append(f"Starts requesting secrets {names}. Only the names are here; the "
                          "values stay in Vault.")
    paragraphs.extend(f"Note: {note}" for note in env.notes)
    if env.plan is not None and env.plan.has_changes:
        paragraphs.append(f"Full plan: `{plans_dir.rstrip('/')}/{text_file_name(env.plan)}`")
    paragraphs.append("</details>")
    return "\n\n".join(paragraphs)


def _change_list(env: EnvironmentReview) -> str:
    plan = env.plan
    if plan is None or not plan.has_changes:
        return ""
    lines = [f"- `{SYMBOLS.get(action, '?')} {address}` ({action})"
             for address, action in plan.changes[:MAX_LISTED_CHANGES]]
    hidden = len(plan.changes) - MAX_LISTED_CHANGES
    if hidden > 0:
        lines.append(f"- and {hidden} more resource changes, listed in the full plan")
    lines.extend(f"- why: {reason}" for reason in plan.impact.reasons)
    return "\n".join(lines)


def _policy_list(env: EnvironmentReview) -> str:
    lines = [f"- ❌ `{result.policy}`: {result.message}" for result in env.failed_policies]
    lines.extend(f"- waived `{result.policy}`: {result.waiver} (would fail: {result.message})"
                 for result in env.policy if result.waiver)
    return "\n".join(["Policy:", *lines]) if lines else ""


def _cost_list(before: CostEstimate | None, after: CostEstimate | None) -> str:
    if after is None and before is None:
        return ""
    hourly = _transition(before, after, lambda cost: _rate(cost.hourly_usd))
    storage = _transition(before, after, lambda cost: _money(cost.storage_monthly_usd))
    hours = _transition(before, after, lambda cost: f"{cost.running_hours_per_month:.0f} h")
    expected = _transition(before, after, lambda cost: _money(cost.monthly_usd))
    always = _transition(before, after, lambda cost: _money(cost.always_on_monthly_usd))
    return "\n".join([
        "Cost, on demand:",
        f"- instance {hourly} per running hour; storage {storage} per month, billed while "
        "stopped too",
        f"- monthly {expected} for {hours} of running, against {always} always on "
        f"({HOURS_PER_MONTH:.0f} h)",
    ])


def _cut_note(total: int, rows_cut: int, details_cut: int) -> str:
    if not rows_cut and not details_cut:
        return ""
    return (f"_Cut to stay under GitHub's {GITHUB_COMMENT_LIMIT:,}-character comment limit: "
            f"{rows_cut} of {total} environments are left out of the table and {details_cut} "
            "of their details are left out. review.json in the plan folder lists them all._")


def _footer(review: Review) -> str:
    folder = review.plans_dir.rstrip("/")
    pending = [env.name for env in review.environments
               if env.has_changes and env.plan is not None and not env.plan.destroy]
    lines = ["---", f"Full plans: `{folder}/`, one NAME.plan.txt and NAME.plan.json per "
             "environment, with review.json for tools."]
    if 0 < len(pending) <= MAX_NAMED_IN_APPLY:
        lines.append(f"Apply after merge: `envctl apply {' '.join(pending)} "
                     f"--plan-dir {folder}/`")
    elif pending:
        lines.append(f"Apply after merge: `envctl apply NAME... --plan-dir {folder}/` with the "
                     f"{len(pending)} environments that review.json shows with changes")
    lines.append(f"Prices: on-demand, from envctl's catalogs (EC2 of {PRICES_DATE}, EBS of "
                 f"{ebs_catalog()['date']}). With autostop, a month counts the active hours per "
                 "workday from envctl.yaml's costs plus the idle wait; always on counts "
                 f"{HOURS_PER_MONTH:.0f} h.")
    return "\n\n".join(lines)

