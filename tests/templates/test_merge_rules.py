"""Merge rules: an environment over its template. Maps merge, scalars and lists replace, and
a list under `key+` appends to the template's list."""

from __future__ import annotations

import pytest

from envctl.definitions.loader import MergeError, load_project, merge
from envctl.errors import DefinitionError

REPO_A = {"url": "https://github.com/openai/whisper"}
REPO_B = {"url": "https://github.com/psf/requests"}

# (case, template, environment, merged)
MERGE_CASES = [
    ("scalar replaces", {"setup": "a"}, {"setup": "b"}, {"setup": "b"}),
    ("scalar kept when unset", {"setup": "a"}, {"name": "x"}, {"setup": "a", "name": "x"}),
    ("null replaces", {"autostop": {"idle_minutes": 60}}, {"autostop": {"idle_minutes": None}},
     {"autostop": {"idle_minutes": None}}),
    ("maps merge by key", {"volume": {"size_gb": 100, "type": "gp3"}},
     {"volume": {"size_gb": 200}}, {"volume": {"size_gb": 200, "type": "gp3"}}),
    ("maps merge deeply", {"a": {"b": {"c": 1, "d": 2}}}, {"a": {"b": {"d": 3}}},
     {"a": {"b": {"c": 1, "d": 3}}}),
    ("map added", {}, {"volume": {"size_gb": 10}}, {"volume": {"size_gb": 10}}),
    ("map replaces scalar", {"tags": "x"}, {"tags": {"team": "ml"}}, {"tags": {"team": "ml"}}),
    ("list replaces", {"repos": [REPO_A]}, {"repos": [REPO_B]}, {"repos": [REPO_B]}),
    ("empty list replaces", {"repos": [REPO_A]}, {"repos": []}, {"repos": []}),
    ("list appends", {"repos": [REPO_A]}, {"repos+": [REPO_B]}, {"repos": [REPO_A, REPO_B]}),
    ("append to missing list", {}, {"repos+": [REPO_B]}, {"repos": [REPO_B]}),
    ("append to null", {"repos": None}, {"repos+": [REPO_B]}, {"repos": [REPO_B]}),
    ("append nothing", {"repos": [REPO_A]}, {"repos+": []}, {"repos": [REPO_A]}),
    ("append inside a map", {"network": {"ssh_cidrs": ["10.0.0.0/8"], "vpc_id": "vpc-1"}},
     {"network": {"ssh_cidrs+": ["192.168.0.0/16"]}},
     {"network": {"ssh_cidrs": ["10.0.0.0/8", "192.168.0.0/16"], "vpc_id": "vpc-1"}}),
    ("append inside a new map", {}, {"network": {"ssh_cidrs+": ["10.0.0.0/8"]}},
     {"network": {"ssh_cidrs": ["10.0.0.0/8"]}}),
    ("template untouched", {"secrets": [{"name": "A"}]}, {"secrets+": [{"name": "B"}]},
     {"secrets": [{"name": "A"}, {"name": "B"}]}),
]

# (case, template, environment, keys of the error, words in its message)
MERGE_ERRORS = [
    ("append a scalar", {"repos": [REPO_A]}, {"repos+": REPO_B}, ("repos+",), "needs a list"),
    ("append to a scalar", {"setup": "a"}, {"setup+": ["b"]}, ("setup+",), "is not a list"),
    ("append and replace", {}, {"repos": [REPO_A], "repos+": [REPO_B]}, ("repos+",),
     "both repos and repos+"),
    ("nested error path", {"network": {}}, {"network": {"ssh_cidrs+": "10.0.0.0/8"}},
     ("network", "ssh_cidrs+"), "needs a list"),
]


@pytest.mark.parametrize(("case", "template", "environment", "expected"), MERGE_CASES,
                         ids=[case[0] for case in MERGE_CASES])
def test_merge_rule(case, template, environment, expected):
    assert merge(template, environment) == expected


def test_merge_leaves_inputs_unchanged():
    template = {"repos": [REPO_A], "volume": {"size_gb": 1}}
    environment = {"repos+": [REPO_B], "volume": {"size_gb": 2}}

    merge(template, environment)

    assert template == {"repos": [REPO_A], "volume": {"size_gb": 1}}
    assert environment == {"repos+": [REPO_B], "volume": {"size_gb": 2}}


@pytest.mark.parametrize(("case", "template", "environment", "keys", "words"), MERGE_ERRORS,
                         ids=[case[0] for case in MERGE_ERRORS])
def test_merge_error(case, template, environment, keys, words):
    with pytest.raises(MergeError) as raised:
        merge(template, environment)

    assert raised.value.keys == keys
    assert words in raised.value.problem


TEMPLATE = """\
instance:
  type: t3.large
image:
  ami: ami-0123456789abcdef0
repos:
  - url: https://github.com/psf/requests
"""

ENVIRONMENT_HEAD = """\
id: env-0a1b2c3d
name: box
owner: alice
template: base
"""


def load_box(make_project, body):
    root = make_project({"box": ENVIRONMENT_HEAD + body}, {"base": TEMPLATE})
    return load_project(root).environment("box")


def test_appended_repos_reach_the_spec(make_project):
    spec = load_box(make_project, "repos+:\n  - url: https://github.com/openai/whisper\n")

    assert [repo.url for repo in spec.repos] == [
        "https://github.com/psf/requests", "https://github.com/openai/whisper"]


def test_append_without_template(make_project):
    text = ENVIRONMENT_HEAD.replace("template: base\n", "") + TEMPLATE.replace(
        "repos:", "repos+:")
    root = make_project({"box": text})

    spec = load_project(root).environment("box")

    assert [repo.url for repo in spec.repos] == ["https://github.com/psf/requests"]


def test_append_error_names_file_and_line(make_project):
    with pytest.raises(DefinitionError) as raised:
        load_box(make_project, "setup: x\nrepos+: https://github.com/openai/whisper\n")

    error = raised.value
    assert error.path.endswith("box.yaml")
    assert error.line == 6
    assert error.field == "repos+"
    assert "needs a list" in str(error)


def test_invalid_appended_item_names_its_line(make_project):
    body = "repos+:\n  - url: https://github.com/openai/whisper\n  - ref: main\n"

    with pytest.raises(DefinitionError) as raised:
        load_box(make_project, body)

    error = raised.value
    # The merged list is [template repo, whisper, {ref: main}]; index 2 is on line 7 here.
    assert error.field == "repos.2.url"
    assert error.line == 7
    assert "missing" in str(error)


def test_append_and_replace_together_rejected(make_project):
    body = "repos: []\nrepos+: []\n"

    with pytest.raises(DefinitionError) as raised:
        load_box(make_project, body)

    assert raised.value.line == 6
    assert "both repos and repos+" in str(raised.value)
