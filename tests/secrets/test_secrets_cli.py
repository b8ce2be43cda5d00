"""envctl secrets set, ls and rm against the sandbox's OpenBao: values go in, names come out."""

from __future__ import annotations

import json

from secrets_support import canary

from envctl.secrets.store import VALUE_KEY


def read_value(root_client, vault, path: str) -> str:
    stored = root_client.secrets.kv.v2.read_secret_version(
        path=path, mount_point=vault.target.mount, raise_on_deleted_version=True)
    return str(stored["data"]["data"][VALUE_KEY])


def test_set_from_stdin_stores_value(envctl, vault, root_client):
    value = canary("stdin")

    result = envctl("secrets", "set", "WANDB_API_KEY", "--scope", "user", input=value + "\n")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "WANDB_API_KEY: stored in user bob (version 1)"
    assert value not in result.output
    assert read_value(root_client, vault, "users/bob/WANDB_API_KEY") == value


def test_set_from_file_keeps_bytes(envctl, vault, root_client, tmp_path):
    value = f"[default]\naws_access_key_id = {canary('file')}\n"
    source = tmp_path / "credentials"
    source.write_text(value)

    result = envctl("secrets", "set", "AWS_CREDENTIALS", "--scope", "user:bob",
                    "--from-file", str(source))

    assert result.exit_code == 0, result.stderr
    assert read_value(root_client, vault, "users/bob/AWS_CREDENTIALS") == value


def test_set_environment_scope_keys_by_id(envctl, vault, root_client):
    value = canary("env")

    result = envctl("secrets", "set", "DATASET_TOKEN", "--scope", "env:whisper", input=value)

    assert result.exit_code == 0, result.stderr
    assert "environment whisper" in result.stdout
    assert read_value(root_client, vault, "environments/env-5cc2ae3c/DATASET_TOKEN") == value


def test_set_again_makes_new_version(envctl):
    envctl("secrets", "set", "HF_TOKEN", "--scope", "template:gpu-pytorch", input="one")

    result = envctl("secrets", "set", "HF_TOKEN", "--scope", "template:gpu-pytorch",
                    input="two")

    assert result.exit_code == 0, result.stderr
    assert "(version 2)" in result.stdout


def test_ls_shows_names_and_missing_never_values(envctl):
    value = canary("ls")
    envctl("secrets", "set", "HF_TOKEN", "--scope", "template:gpu-pytorch", input=value)
    envctl("secrets", "set", "PERSONAL_NOTE", "--scope", "user:carol", input=value)

    result = envctl("secrets", "ls")
    listed = envctl("secrets", "ls", "--scope", "template:gpu-pytorch")

    assert result.exit_code == 0, result.stderr
    assert value not in result.output
    lines = result.stdout.splitlines()
    hf_token = next(line for line in lines if line.startswith("HF_TOKEN"))
    assert "template:gpu-pytorch" in hf_token
    assert "version 1" in hf_token
    assert "named by sd-dreambooth, whisper" in hf_token
    assert any(line.startswith("PERSONAL_NOTE") and "user:carol" in line for line in lines)
    missing = next(line for line in lines if line.startswith("DATASET_TOKEN")
                   and "env:whisper" in line)
    assert "MISSING" in missing
    assert listed.stdout.splitlines() == [hf_token]


def test_ls_json_lists_names_only(project_root, sandbox):
    from click.testing import CliRunner

    from envctl.cli.main import cli

    base = ["--project", str(project_root), "--output", "json", "secrets"]
    value = canary("json")
    runner = CliRunner()
    env = {"ENVCTL_OWNER": "bob"}
    runner.invoke(cli, [*base, "set", "WANDB_API_KEY", "--scope", "user", "--sandbox"],
                  input=value, env=env)

    result = runner.invoke(cli, [*base, "ls", "--scope", "user", "--sandbox"], env=env)

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"name": "AWS_CREDENTIALS", "scope": "user:bob", "version": 0, "named_by": ["whisper"]},
        {"name": "WANDB_API_KEY", "scope": "user:bob", "version": 1, "named_by": ["whisper"]},
    ]
    assert value not in result.output


def test_rm_deletes_every_version(envctl, vault):
    from envctl.secrets.store import current_version

    envctl("secrets", "set", "HF_TOKEN", "--scope", "template:gpu-pytorch", input="one")
    envctl("secrets", "set", "HF_TOKEN", "--scope", "template:gpu-pytorch", input="two")

    result = envctl("secrets", "rm", "HF_TOKEN", "--scope", "template:gpu-pytorch", "--yes")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "HF_TOKEN: removed from template gpu-pytorch"
    assert current_version(vault, "templates/gpu-pytorch/HF_TOKEN") == 0


def test_rm_missing_secret_is_clear_error(envctl):
    result = envctl("secrets", "rm", "NOPE", "--scope", "user", "--yes")

    assert result.exit_code == 1
    assert "no secret NOPE in user bob" in result.stderr
    assert "envctl secrets ls --scope user:bob" in result.stderr


def test_rm_needs_yes_without_terminal(envctl):
    envctl("secrets", "set", "HF_TOKEN", "--scope", "template:gpu-pytorch", input="one")

    result = envctl("secrets", "rm", "HF_TOKEN", "--scope", "template:gpu-pytorch")

    assert result.exit_code == 1
    assert "pass --yes" in result.stderr


BAD_SETS = [
    (["--scope", "team:x"], "one", "invalid scope 'team:x'"),
    (["--scope", "template:gpu-pytorh"], "one", "no template named 'gpu-pytorh'"),
    (["--scope", "env:wisper"], "one", "did you mean 'whisper'?"),
    (["--scope", "user"], "", "the value for HF_TOKEN is empty"),
    (["--scope", "user"], b"\xff\xfe", "not UTF-8 text"),
    (["--scope", "user:Alice/../bob"], "one", "cannot name a Vault path"),
]


def test_bad_set_is_one_clear_line(envctl):
    for options, value, expected in BAD_SETS:
        result = envctl("secrets", "set", "HF_TOKEN", *options, input=value)

        assert result.exit_code == 1, (options, result.output)
        assert expected in result.stderr, (options, result.stderr)
        assert "Traceback" not in result.stderr


def test_bad_secret_name_rejected(envctl):
    result = envctl("secrets", "set", "HF-TOKEN", "--scope", "user", input="one")

    assert result.exit_code == 1
    assert "'HF-TOKEN' is not a valid secret name" in result.stderr


def test_value_is_never_an_argument(envctl):
    result = envctl("secrets", "set", "HF_TOKEN", "hf_value", "--scope", "user")

    assert result.exit_code == 2
    assert "unexpected extra argument" in result.stderr.lower()


def test_no_vault_configured_names_vault_address(project_root):
    from click.testing import CliRunner

    from envctl.cli.main import cli

    result = CliRunner().invoke(
        cli, ["--project", str(project_root), "secrets", "ls"],
        env={"VAULT_ADDR": None, "VAULT_TOKEN": None, "ENVCTL_SANDBOX": None})

    assert result.exit_code == 1
    assert "no Vault is configured; set vault.address in envctl.yaml" in result.stderr


def test_secrets_help_loads_no_hvac():
    import subprocess
    import sys

    probe = ("import sys\nfrom click.testing import CliRunner\nfrom envctl.cli.main import cli\n"
             "result = CliRunner().invoke(cli, ['secrets', 'set', '--help'])\n"
             "print(result.exit_code, 'hvac' in sys.modules, 'boto3' in sys.modules)")

    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout

    assert output.split() == ["0", "False", "False"]
