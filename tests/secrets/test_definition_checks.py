"""A definition file that contains something that looks like a secret fails validation with
file:line, the field, and a pointer to `envctl secrets set`. Names alone pass."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from tests_support import GOOD_ENVIRONMENT

from envctl.cli.main import cli

# Built from parts, so this test file itself contains no complete token.
AWS_KEY = "AKIA" + "ABCDEFGHIJKLMNOP"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
HF_TOKEN = "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567"
SLACK_TOKEN = "xoxb-" + "1234567890-abcdefghij"
PRIVATE_KEY = "-----BEGIN OPENSSH " + "PRIVATE KEY-----"

# (case, text replaced in the good file, replacement, expected pieces of the error line)
LEAKS = [
    ("AWS key in setup", "setup: |\n  pip install -e diffusers\n",
     f"setup: |\n  pip install -e diffusers\n  export AWS_ACCESS_KEY_ID={AWS_KEY}\n",
     ["sd-box.yaml:20", "setup", "an AWS access key id (AKIA...)"]),
    ("GitHub token in repo URL", "https://github.com/huggingface/diffusers",
     f"https://{GITHUB_TOKEN}@github.com/huggingface/diffusers",
     ["sd-box.yaml:16", "repos.0.url", "a GitHub token (ghp_...)"]),
    ("password in repo URL", "https://github.com/huggingface/diffusers",
     "https://bob:hunter2@github.com/huggingface/diffusers",
     ["sd-box.yaml:16", "repos.0.url", "a URL with a password (https://...)"]),
    ("Hugging Face token in tag", "team: vision", f"team: {HF_TOKEN}",
     ["sd-box.yaml:26", "tags.team", "a Hugging Face token (hf_...)"]),
    ("Slack token as tag key", "team: vision", f"{SLACK_TOKEN}: vision",
     ["sd-box.yaml:26", "tags", "a Slack token (xoxb-...)"]),
    ("private key in setup", "  pip install -e diffusers\n",
     f"  pip install -e diffusers\n  echo '{PRIVATE_KEY}' > key\n",
     ["sd-box.yaml:20", "setup", "a private key"]),
    ("token in a comment", "tags:\n", f"# hf token: {HF_TOKEN}\ntags:\n",
     ["sd-box.yaml:25", "comment", "a Hugging Face token"]),
]


@pytest.mark.parametrize("case,old,new,expected", LEAKS, ids=[row[0] for row in LEAKS])
def test_secret_value_fails_validation(make_project, case, old, new, expected):
    assert old in GOOD_ENVIRONMENT, case
    root = make_project({"sd-box": GOOD_ENVIRONMENT.replace(old, new, 1)})

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 1, result.output
    first = next(line for line in result.stderr.splitlines() if line.startswith("error: "))
    for piece in expected:
        assert piece in first, f"{piece!r} not in {first!r}"
    assert "store it with `envctl secrets set NAME --scope" in first
    assert "list the name under secrets:" in first


def test_error_never_shows_the_value(make_project):
    root = make_project({"sd-box": GOOD_ENVIRONMENT.replace("team: vision", f"team: {HF_TOKEN}")})

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert HF_TOKEN not in result.output
    assert HF_TOKEN[3:] not in result.output


def test_secret_in_template_fails(make_project):
    template = f"instance:\n  type: g5.xlarge\nsetup: |\n  export GH={GITHUB_TOKEN}\n"
    root = make_project(templates={"gpu": template})

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 1
    assert "gpu.yaml:4: setup: contains what looks like a GitHub token" in result.stderr


def test_secret_in_project_file_fails(make_project):
    settings = "region: us-east-1\nvault:\n  address: https://admin:s3cret@vault:8200\n"

    root = make_project(settings=settings)
    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 1
    assert "envctl.yaml:3: vault.address: contains what looks like a URL with a password" in (
        result.stderr)


LOOKALIKES = [
    ("variable in URL", "https://x-access-token:${GH_TOKEN}@github.com/org/repo"),
    ("user without password", "https://bob@github.com/org/repo"),
    ("scp-style git URL", "git@github.com:org/repo.git"),
    ("short hf_ name", "pip install hf_transfer"),
    ("secret name only", "echo $HF_TOKEN"),
]


@pytest.mark.parametrize("case,text", LOOKALIKES, ids=[row[0] for row in LOOKALIKES])
def test_lookalike_passes(make_project, case, text):
    environment = GOOD_ENVIRONMENT.replace("pip install -e diffusers", f"echo '{text}'")
    root = make_project({"sd-box": environment})

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 0, (case, result.stderr)


SECRET_REFS = [
    ("template scope without template", "    scope: user\n",
     "    scope: template\n", ["sd-box.yaml:24", "secrets.0", "extends no template"]),
    ("name twice", "    scope: user\n",
     "    scope: user\n  - name: HF_TOKEN\n    scope: environment\n",
     ["secrets.1", "HF_TOKEN is listed twice"]),
    ("file twice", "    scope: user\n",
     "    scope: user\n    file: .aws/credentials\n  - name: OTHER\n    file: .aws/credentials\n",
     ["secrets.1.file", ".aws/credentials is already written"]),
    ("file is the env file", "    scope: user\n",
     "    scope: user\n    file: .envctl/secrets.env\n", ["secrets.0.file", "env file"]),
    ("file outside home", "    scope: user\n",
     "    scope: user\n    file: ../etc/passwd\n", ["secrets.0.file", "not a path inside"]),
]


@pytest.mark.parametrize("case,old,new,expected", SECRET_REFS, ids=[r[0] for r in SECRET_REFS])
def test_secret_ref_problems(make_project, case, old, new, expected):
    root = make_project({"sd-box": GOOD_ENVIRONMENT.replace(old, new, 1)})

    result = CliRunner().invoke(cli, ["--project", str(root), "validate"])

    assert result.exit_code == 1, (case, result.output)
    first = next(line for line in result.stderr.splitlines() if line.startswith("error: "))
    for piece in expected:
        assert piece in first, f"{piece!r} not in {first!r}"
