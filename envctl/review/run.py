"""Plan what a change touches and review it: plans, policies, costs before and after.

Planning goes through envctl.planning, so the plans are the same saved plans that
`envctl apply --plan-dir` applies. A deleted environment gets a destroy plan that keeps
its data volume, and apply's data-loss guard treats it like any other destroy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from envctl.definitions.spec import EnvironmentSpec
from envctl.planning.plans import EnvironmentPlan, write_manifest
from envctl.planning.run import plan_destroy, plan_environments
from envctl.review.changes import ChangeSet, DeletedEnvironment, detect_changes
from envctl.review.cost import estimate_cost, retained_volume_cost
from envctl.review.markdown import render_markdown
from envctl.review.policy import evaluate
from envctl.review.report import EnvironmentReview, Review, new_secrets
from envctl.terraform.runner import StepCallback
from envctl.workspace import Workspace

REVIEW_JSON = "review.json"
REVIEW_MARKDOWN = "review.md"


def plan_changes(workspace: Workspace, ref: str, out_dir: Path, shown_dir: str,
                 on_step: StepCallback | None = None) -> Review:
    """Plan every environment that changed since ref, and destroy the deleted ones.

    shown_dir is how the summary names out_dir, such as the relative path given to --out.
    """
    changes = detect_changes(workspace.project, ref)
    plans, pinned = _plan(workspace, [change.spec for change in changes.changed], out_dir,
                          on_step)
    destroys = [plan_destroy(workspace, deleted.spec, out_dir, delete_volume=False,
                             on_step=on_step) for deleted in changes.deleted]
    # plan_destroy writes a manifest of its own plan only; this one lists every plan.
    write_manifest(out_dir, [*plans, *destroys])
    reasons = {change.spec.id: change for change in changes.changed}
    reviews = [
        _review_planned(workspace, plan, changes, reasons[plan.environment_id].change,
                        reasons[plan.environment_id].reasons, plan.environment_id in pinned)
        for plan in plans
    ]
    reviews.extend(_review_deleted(workspace, deleted, plan, changes)
                   for deleted, plan in zip(changes.deleted, destroys, strict=True))
    return Review(tuple(reviews), shown_dir, ref=ref, base_commit=changes.base_commit)


def plan_selected(workspace: Workspace, specs: Sequence[EnvironmentSpec], out_dir: Path,
                  shown_dir: str, on_step: StepCallback | None = None) -> Review:
    """Plan the given environments and review them, without a git comparison."""
    plans, pinned = _plan(workspace, specs, out_dir, on_step)
    reviews = [_review_planned(workspace, plan, None, "requested", (),
                               plan.environment_id in pinned) for plan in plans]
    return Review(tuple(reviews), shown_dir)


def save_review(review: Review, out_dir: Path) -> None:
    """Keep review.json and the comment (review.md) next to the plans."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = json.dumps(review.to_json(), indent=2, sort_keys=True)
    (out_dir / REVIEW_JSON).write_text(data + "\n")
    (out_dir / REVIEW_MARKDOWN).write_text(render_markdown(review))


def _plan(workspace: Workspace, specs: Sequence[EnvironmentSpec], out_dir: Path,
          on_step: StepCallback | None) -> tuple[list[EnvironmentPlan], set[str]]:
    """Plan specs; also return the ids whose image this plan pinned in the environment file."""
    unpinned = {spec.id for spec in specs if not spec.image.resolved_ami}
    out_dir.mkdir(parents=True, exist_ok=True)
    if not specs:
        write_manifest(out_dir, [])
        return [], set()
    return plan_environments(workspace, specs, out_dir, on_step), unpinned


def _review_planned(workspace: Workspace, plan: EnvironmentPlan, changes: ChangeSet | None,
                    change: str, reasons: tuple[str, ...], pinned: bool) -> EnvironmentReview:
    project = workspace.project
    after = project.environment(plan.environment_id)
    before = changes.before(after.id) if changes else None
    base_costs = changes.base.settings.costs if changes and changes.base else None
    notes = []
    if pinned:
        notes.append(f"this plan pinned the image to {after.image.pinned} in "
                     f"{after.source.parent.name}/{after.source.name}; commit that line, or "
                     "the merged definition will differ from this plan")
    return EnvironmentReview(
        name=after.name,
        environment_id=after.id,
        change=change,
        reasons=reasons,
        plan=plan,
        policy=tuple(evaluate(after, project.settings, _stack(workspace, after))),
        cost_before=estimate_cost(before, base_costs or project.settings.costs)
        if before else None,
        cost_after=estimate_cost(after, project.settings.costs),
        new_secrets=new_secrets(before, after),
        notes=tuple(notes),
    )


def _review_deleted(workspace: Workspace, deleted: DeletedEnvironment, plan: EnvironmentPlan,
                    changes: ChangeSet) -> EnvironmentReview:
    spec = deleted.spec
    costs = changes.base.settings.costs if changes.base else workspace.project.settings.costs
    return EnvironmentReview(
        name=spec.name,
        environment_id=spec.id,
        change="deleted",
        reasons=(f"{deleted.path} deleted",),
        plan=plan,
        cost_before=estimate_cost(spec, costs),
        cost_after=retained_volume_cost(spec),
        notes=("the destroy keeps the data volume, which stays billed; delete it with "
               f"`envctl destroy {spec.name} --delete-volume` before removing the file",),
    )


def _stack(workspace: Workspace, spec: EnvironmentSpec) -> dict[str, Any]:
    """Read the stack that plan synthesized for spec."""
    from envctl.cdk.app import OUTDIR
    from envctl.terraform.runner import STACK_FILE

    path = workspace.project.root / OUTDIR / "stacks" / spec.stack_name / STACK_FILE
    stack: dict[str, Any] = json.loads(path.read_text())
    return stack
