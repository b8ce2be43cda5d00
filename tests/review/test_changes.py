"""Changed-environment detection against a git ref, in a real repository made per test."""

from __future__ import annotations

import pytest
from review_support import CPU_TEMPLATE, environment_yaml, git, write_project

from envctl.definitions.loader import load_project
from envctl.errors import GitError
from envctl.review.changes import detect_changes

# Two stand-alone GPU environments and three that extend the cpu template.
ENVIRONMENTS = {
    "alpha": environment_yaml("alpha", 1),
    "beta": environment_yaml("beta", 2),
    "gamma": environment_yaml("gamma", 3, template="cpu"),
    "delta": environment_yaml("delta", 4, template="cpu"),
    "epsilon": environment_yaml("epsilon", 5, template="cpu"),
}


@pytest.fixture
def repo(tmp_path):
    """A repository whose main branch contains a five-environment project under infra/."""
    top = tmp_path / "repo"
    top.mkdir()
    git(top, "init", "-q")
    write_project(top / "infra", ENVIRONMENTS, {"cpu": CPU_TEMPLATE})
    (top / "README.md").write_text("docs\n")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "Add environments")
    return top


def changed_names(changeset):
    return sorted(change.spec.name for change in changeset.changed)


def detect(top, ref="main"):
    return detect_changes(load_project(top / "infra"), ref)


def test_one_changed_file_plans_that_environment(repo):
    path = repo / "infra" / "environments" / "beta.yaml"
    path.write_text(path.read_text().replace("size_gb: 200", "size_gb: 300"))

    changeset = detect(repo)

    assert changed_names(changeset) == ["beta"]
    assert changeset.changed[0].change == "modified"
    assert changeset.changed[0].reasons == ("environments/beta.yaml changed",)
    assert changeset.deleted == []


def test_template_change_plans_its_environments(repo):
    path = repo / "infra" / "templates" / "cpu.yaml"
    path.write_text(path.read_text().replace("t3.large", "t3.xlarge"))

    changeset = detect(repo)

    assert changed_names(changeset) == ["delta", "epsilon", "gamma"]
    for change in changeset.changed:
        assert change.change == "dependency"
        assert change.reasons == ("template cpu changed",)


def test_project_file_change_plans_every_environment(repo):
    path = repo / "infra" / "envctl.yaml"
    path.write_text(path.read_text() + "costs:\n  workdays_per_month: 20\n")

    changeset = detect(repo)

    assert changed_names(changeset) == sorted(ENVIRONMENTS)
    assert all(change.reasons == ("envctl.yaml changed",) for change in changeset.changed)


def test_unrelated_file_plans_nothing(repo):
    (repo / "README.md").write_text("more docs\n")
    (repo / "infra" / "notes.txt").write_text("not a definition\n")

    changeset = detect(repo)

    assert changeset.changed == []
    assert changeset.deleted == []


def test_committed_branch_change_is_found(repo):
    git(repo, "checkout", "-q", "-b", "feature")
    path = repo / "infra" / "environments" / "alpha.yaml"
    path.write_text(path.read_text().replace("g5.xlarge", "g5.2xlarge"))
    git(repo, "commit", "-q", "-am", "Grow alpha")

    changeset = detect(repo)

    assert changed_names(changeset) == ["alpha"]
    assert changeset.base_commit == git(repo, "rev-parse", "main").strip()
    assert changeset.before(changeset.changed[0].spec.id).instance_type == "g5.xlarge"
    assert changeset.changed[0].spec.instance_type == "g5.2xlarge"


def test_merge_base_ignores_later_commits_on_ref(repo):
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "checkout", "-q", "main")
    path = repo / "infra" / "environments" / "gamma.yaml"
    path.write_text(path.read_text() + "tags:\n  team: vision\n")
    git(repo, "commit", "-q", "-am", "Tag gamma on main")
    git(repo, "checkout", "-q", "feature")

    changeset = detect(repo)

    assert changeset.changed == []


def test_new_untracked_file_is_added(repo):
    path = repo / "infra" / "environments" / "zeta.yaml"
    path.write_text(environment_yaml("zeta", 6))

    changeset = detect(repo)

    assert changed_names(changeset) == ["zeta"]
    assert changeset.changed[0].change == "added"
    assert changeset.before(changeset.changed[0].spec.id) is None


def test_deleted_file_plans_destroy(repo):
    (repo / "infra" / "environments" / "delta.yaml").unlink()

    changeset = detect(repo)

    assert changeset.changed == []
    assert [deleted.spec.name for deleted in changeset.deleted] == ["delta"]
    assert changeset.deleted[0].spec.id == "env-00000004"
    assert changeset.deleted[0].path == "environments/delta.yaml"


def test_renamed_file_is_a_change_not_a_destroy(repo):
    old = repo / "infra" / "environments" / "alpha.yaml"
    text = old.read_text().replace("name: alpha", "name: alpha-two")
    old.unlink()
    (repo / "infra" / "environments" / "alpha-two.yaml").write_text(text)

    changeset = detect(repo)

    assert changeset.deleted == []
    assert changed_names(changeset) == ["alpha-two"]
    assert changeset.changed[0].change == "modified"
    assert "renamed from environments/alpha.yaml" in changeset.changed[0].reasons


def test_project_at_repository_top(tmp_path):
    top = tmp_path / "flat"
    top.mkdir()
    git(top, "init", "-q")
    write_project(top, {"alpha": environment_yaml("alpha", 1)})
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "Add alpha")
    path = top / "environments" / "alpha.yaml"
    path.write_text(path.read_text().replace("size_gb: 200", "size_gb: 250"))

    changeset = detect_changes(load_project(top), "HEAD")

    assert changed_names(changeset) == ["alpha"]


def test_project_new_since_ref_has_no_base(repo):
    git(repo, "checkout", "-q", "-b", "feature")
    write_project(repo / "second", {"omega": environment_yaml("omega", 9)})

    changeset = detect_changes(load_project(repo / "second"), "main")

    assert changeset.base is None
    assert changed_names(changeset) == ["omega"]
    assert changeset.changed[0].change == "added"


def test_unknown_ref_says_how_to_fetch(repo):
    with pytest.raises(GitError, match="unknown git ref 'origin/main'; fetch it first"):
        detect(repo, "origin/main")


def test_folder_outside_git_is_rejected(tmp_path):
    root = write_project(tmp_path / "plain", {"alpha": environment_yaml("alpha", 1)})

    with pytest.raises(GitError, match="is not inside a git repository"):
        detect_changes(load_project(root), "main")
