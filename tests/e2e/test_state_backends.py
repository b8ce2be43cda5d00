"""State on S3 (moto's S3 on the sandbox), with lockfile locking under concurrent applies."""

from __future__ import annotations

import json
import threading

import boto3
import pytest
from e2e_support import copy_examples, workspace_for

from envctl.definitions.editing import set_field
from envctl.definitions.loader import load_project
from envctl.errors import EnvctlError
from envctl.planning.run import apply_plans, plan_environments

pytestmark = pytest.mark.e2e

S3_SETTINGS = """\
region: us-east-1
ssh:
  allowed_cidrs: [203.0.113.0/24]
state:
  backend: s3
  bucket: team-envctl-state
  key_prefix: envctl
"""


@pytest.fixture(scope="module")
def s3_project(tmp_path_factory, sandbox):
    """One example environment applied with its state in a moto S3 bucket."""
    from envctl.sandbox import reset_cloud

    reset_cloud(sandbox)
    boto3.client("s3", **sandbox.client_settings()).create_bucket(Bucket="team-envctl-state")
    root = copy_examples(tmp_path_factory.mktemp("s3") / "project", settings=S3_SETTINGS)
    workspace = workspace_for(root, sandbox)
    spec = workspace.project.environment("python-cpu")
    results = apply_plans(workspace, plan_environments(workspace, [spec], root / "plans"))
    return workspace, results[0]


def state_document(sandbox, environment_id):
    s3 = boto3.client("s3", **sandbox.client_settings())
    key = f"envctl/{environment_id}/terraform.tfstate"
    return json.loads(s3.get_object(Bucket="team-envctl-state", Key=key)["Body"].read())


def test_state_lands_in_bucket_keyed_by_id(s3_project, sandbox):
    workspace, result = s3_project
    spec = workspace.project.environment("python-cpu")

    state = state_document(sandbox, spec.id)

    addresses = {f"{r['type']}.{r['name']}" for r in state["resources"] if r["mode"] == "managed"}
    assert "aws_ebs_volume.data_volume" in addresses
    assert not (workspace.project.root / ".envctl" / "state").exists()
    assert not (workspace.project.root / ".envctl" / "sandbox" / "state").exists()
    volume = next(r for r in state["resources"] if r["type"] == "aws_ebs_volume")
    assert volume["instances"][0]["attributes"]["id"] == result.outputs["volume_id"]


def test_plan_after_apply_is_clean_on_s3(s3_project):
    workspace, _ = s3_project
    spec = workspace.project.environment("python-cpu")

    plans = plan_environments(workspace, [spec], workspace.project.root / "again")

    assert plans[0].has_changes is False


def test_concurrent_applies_keep_state_whole(s3_project, sandbox):
    workspace, _ = s3_project
    spec = workspace.project.environment("python-cpu")
    set_field(spec.source, ("tags", "cost-center"), "ml-7")
    workspace.project = load_project(workspace.project.root)
    spec = workspace.project.environment("python-cpu")
    first = plan_environments(workspace, [spec], workspace.project.root / "p1")
    second = plan_environments(workspace, [spec], workspace.project.root / "p2")
    serial_before = state_document(sandbox, spec.id)["serial"]
    outcomes: list[object] = []

    def apply(plans):
        try:
            outcomes.append(apply_plans(workspace, plans))
        except EnvctlError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=apply, args=(plans,)) for plans in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    failures = [o for o in outcomes if isinstance(o, EnvctlError)]
    assert len(failures) == 1, outcomes
    assert "run `envctl plan" in str(failures[0]) or "state lock" in str(failures[0])
    state = state_document(sandbox, spec.id)
    assert state["serial"] > serial_before
    instance = next(r for r in state["resources"] if r["type"] == "aws_instance")
    assert instance["instances"][0]["attributes"]["tags"]["cost-center"] == "ml-7"
    assert plan_environments(workspace, [spec], workspace.project.root / "p3")[0].has_changes \
        is False
