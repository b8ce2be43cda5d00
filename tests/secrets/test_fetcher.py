"""The instance-side fetcher, run here with exactly what a box receives (the shipped fetch.py
and a handoff), against the sandbox's OpenBao: it reads its own scopes and nothing else."""

from __future__ import annotations

import json
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from secrets_support import canary, parse_env_file, run_fetcher

from envctl.secrets.access import grant_access, revoke_access
from envctl.secrets.handoff import issue_handoff
from envctl.secrets.store import put_secret

# Secrets whisper must never read: Alice's user scope, an unnamed secret of Bob's, another
# environment's scope (sd-dreambooth's id), another template's scope.
OUTSIDE = [
    ("user", "alice", "WANDB_API_KEY"),
    ("user", "bob", "UNNAMED"),
    ("environment", "env-aee924a3", "DATASET_TOKEN"),
    ("template", "cpu-ubuntu", "HF_TOKEN"),
]


@pytest.fixture
def stored(workspace, vault):
    """A canary value in every scope: whisper's (Bob's) and everything around it."""
    from envctl.secrets.scopes import Scope

    whisper = workspace.project.environment("whisper")
    values = {
        ("template", "gpu-pytorch", "HF_TOKEN"): canary("template"),
        ("user", "bob", "WANDB_API_KEY"): canary("bob"),
        ("user", "bob", "AWS_CREDENTIALS"): f"[default]\nkey = {canary('aws')}\n",
        ("environment", whisper.id, "DATASET_TOKEN"): "it's \"quoted\" $HOME `x`\n" + canary("e"),
        **{key: canary("outside") for key in OUTSIDE},
    }
    for (kind, key, name), value in values.items():
        put_secret(vault, Scope(kind, key, key), name, value)  # type: ignore[arg-type]
    return values


def handoff_for(workspace, vault, name="whisper", **options):
    return issue_handoff(vault, workspace.project.environment(name), **options)


def http(method, url, token="", body=None):
    """One Vault API call, as the box makes it; returns (status, parsed body or text)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"X-Vault-Token": token}, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def login(handoff):
    """Unwrap and log in exactly as the fetcher does; return the box's token."""
    base = handoff["address"] + "/v1/"
    status, unwrapped = http("POST", base + "sys/wrapping/unwrap", handoff["wrapped_secret_id"],
                             {})
    assert status == 200, unwrapped
    status, auth = http("POST", base + handoff["login_path"], "",
                        {"role_id": handoff["role_id"],
                         "secret_id": unwrapped["data"]["secret_id"]})
    assert status == 200, auth
    return auth["auth"]["client_token"]


def test_fetcher_writes_its_scopes(workspace, vault, stored, tmp_path):
    home = tmp_path / "home"
    handoff = handoff_for(workspace, vault)

    result = run_fetcher(tmp_path, handoff, home)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "envctl-secrets: wrote 4 secret(s) for whisper"
    env_file = home / ".envctl" / "secrets.env"
    whisper = workspace.project.environment("whisper")
    assert parse_env_file(env_file) == {
        "HF_TOKEN": stored[("template", "gpu-pytorch", "HF_TOKEN")],
        "WANDB_API_KEY": stored[("user", "bob", "WANDB_API_KEY")],
        "DATASET_TOKEN": stored[("environment", whisper.id, "DATASET_TOKEN")],
    }
    credentials = home / ".aws" / "credentials"
    assert credentials.read_text() == stored[("user", "bob", "AWS_CREDENTIALS")]
    for written in (env_file, credentials):
        assert stat.S_IMODE(written.stat().st_mode) == 0o600, written
    for folder in (home / ".envctl", home / ".aws"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_fetcher_output_and_files_hold_nothing_else(workspace, vault, stored, tmp_path):
    home = tmp_path / "home"

    result = run_fetcher(tmp_path, handoff_for(workspace, vault), home)

    assert result.returncode == 0, result.stderr
    written = "".join(path.read_text() for path in home.rglob("*") if path.is_file())
    for key, value in stored.items():
        assert value not in result.stdout + result.stderr, key
    for key in OUTSIDE:
        assert stored[key] not in written, key


def test_fetcher_deletes_handoff(workspace, vault, stored, tmp_path):
    result = run_fetcher(tmp_path, handoff_for(workspace, vault), tmp_path / "home")

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "secrets-handoff.json").exists()


FOLDERS = {"user": "users", "environment": "environments", "template": "templates"}


@pytest.mark.parametrize("outside", OUTSIDE, ids=["alice", "unnamed", "other env", "template"])
def test_fetcher_gets_403_elsewhere(workspace, vault, stored, tmp_path, outside):
    """A handoff edited to name a path outside the environment's scopes gets 403."""
    kind, key, name = outside
    path = f"{FOLDERS[kind]}/{key}/{name}"
    handoff = handoff_for(workspace, vault)
    handoff["secrets"] = [{"name": "STOLEN", "path": f"{vault.target.mount}/data/{path}",
                           "file": None}]
    home = tmp_path / "home"

    result = run_fetcher(tmp_path, handoff, home)

    assert result.returncode == 1
    assert f"{path}: HTTP 403: permission denied" in result.stderr
    assert not (home / ".envctl" / "secrets.env").exists()
    assert stored[outside] not in result.stdout + result.stderr


def test_box_token_reads_only_named_paths(workspace, vault, stored):
    token = login(handoff_for(workspace, vault))
    base = f"{vault.target.address}/v1/{vault.target.mount}"
    whisper = workspace.project.environment("whisper")

    allowed = http("GET", f"{base}/data/users/bob/WANDB_API_KEY", token)
    denied = {
        "alice": http("GET", f"{base}/data/users/alice/WANDB_API_KEY", token),
        "list own scope": http("LIST", f"{base}/metadata/users/bob", token),
        "metadata": http("GET", f"{base}/metadata/users/bob/WANDB_API_KEY", token),
        "write own": http("POST", f"{base}/data/environments/{whisper.id}/DATASET_TOKEN", token,
                          {"data": {"value": "overwritten"}}),
        "policies": http("GET", f"{vault.target.address}/v1/sys/policies/acl", token),
        "new secret id": http("POST", f"{vault.target.address}/v1/auth/approle/role/"
                              f"envctl-{whisper.id}/secret-id", token, {}),
    }

    assert allowed[0] == 200
    for case, (status, _) in denied.items():
        assert status == 403, case


def test_token_revoked_after_fetch(workspace, vault, stored, tmp_path):
    """The fetcher revokes its login token, and unwrapping spent the wrapping token, so the
    box keeps no token."""
    handoff = handoff_for(workspace, vault)
    before = set(_token_accessors(vault))

    result = run_fetcher(tmp_path, handoff, tmp_path / "home")
    after = set(_token_accessors(vault))

    assert result.returncode == 0, result.stderr
    assert after <= before
    assert len(before - after) == 1


def _token_accessors(vault):
    return vault.client.list("auth/token/accessors")["data"]["keys"]


def test_handoff_works_once(workspace, vault, stored, tmp_path):
    handoff = handoff_for(workspace, vault)

    first = run_fetcher(tmp_path, handoff, tmp_path / "first")
    second = run_fetcher(tmp_path, handoff, tmp_path / "second")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 1
    assert "sys/wrapping/unwrap: HTTP 400: the handoff was used or expired" in second.stderr
    assert not (tmp_path / "second").exists()


def test_unwrapped_secret_id_logs_in_once(workspace, vault, stored):
    handoff = handoff_for(workspace, vault)
    base = handoff["address"] + "/v1/"
    status, unwrapped = http("POST", base + "sys/wrapping/unwrap", handoff["wrapped_secret_id"],
                             {})
    credentials = {"role_id": handoff["role_id"], "secret_id": unwrapped["data"]["secret_id"]}

    first, _ = http("POST", base + handoff["login_path"], "", credentials)
    second, body = http("POST", base + handoff["login_path"], "", credentials)

    assert status == 200
    assert unwrapped["data"]["secret_id_num_uses"] == 1
    assert unwrapped["data"]["secret_id_ttl"] == 900
    assert first == 200
    assert second == 400, body


def test_handoff_expires(workspace, vault, stored, tmp_path):
    handoff = handoff_for(workspace, vault, ttl_s=1)
    assert handoff["expires_in"] == 1

    time.sleep(2.5)
    result = run_fetcher(tmp_path, handoff, tmp_path / "home")

    assert result.returncode == 1
    assert "the handoff was used or expired" in result.stderr


def test_handoff_holds_no_value(workspace, vault, stored):
    handoff = json.dumps(handoff_for(workspace, vault))

    for value in stored.values():
        assert value not in handoff


def test_revoke_locks_out_role_and_tokens(workspace, vault, stored, tmp_path):
    whisper = workspace.project.environment("whisper")
    token = login(handoff_for(workspace, vault))
    pending = handoff_for(workspace, vault)
    base = f"{vault.target.address}/v1/{vault.target.mount}"

    revoke_access(vault, whisper)
    result = run_fetcher(tmp_path, pending, tmp_path / "home")
    status, _ = http("GET", f"{base}/data/users/bob/WANDB_API_KEY", token)

    assert result.returncode == 1
    assert "auth/approle/login: HTTP 400" in result.stderr
    assert status == 403
    assert f"envctl-{whisper.id}" not in vault.client.sys.list_acl_policies()["data"]["keys"]


def test_grant_is_idempotent(workspace, vault, stored):
    whisper = workspace.project.environment("whisper")

    first = grant_access(vault, whisper)
    second = grant_access(vault, whisper)

    assert first == second


def test_fetcher_waits_for_late_handoff(workspace, vault, stored, tmp_path):
    """At boot the fetcher starts before envctl delivers the handoff, and waits for it."""
    import subprocess
    import sys

    from envctl.secrets.handoff import fetcher_source

    fetcher = tmp_path / "fetch.py"
    fetcher.write_bytes(fetcher_source())
    handoff_file = tmp_path / "late.json"
    home = tmp_path / "home"
    process = subprocess.Popen(
        [sys.executable, str(fetcher), str(handoff_file), f"--home={home}", "--wait=60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "NO_PROXY": "127.0.0.1"})
    handoff_file.write_text(json.dumps(handoff_for(workspace, vault)))

    stdout, stderr = process.communicate(timeout=90)

    assert process.returncode == 0, stderr
    assert "wrote 4 secret(s)" in stdout


def test_fetcher_rereads_incomplete_handoff(workspace, vault, stored, tmp_path):
    """A delivery that writes in place (`install /dev/stdin`) can be seen half written."""
    import subprocess
    import sys

    from envctl.secrets.handoff import fetcher_source

    fetcher = tmp_path / "fetch.py"
    fetcher.write_bytes(fetcher_source())
    handoff_file = tmp_path / "handoff.json"
    text = json.dumps(handoff_for(workspace, vault))
    handoff_file.write_text(text[: len(text) // 2])
    process = subprocess.Popen(
        [sys.executable, str(fetcher), str(handoff_file), f"--home={tmp_path / 'home'}",
         "--wait=60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", "NO_PROXY": "127.0.0.1"})
    time.sleep(3)
    handoff_file.write_text(text)

    stdout, stderr = process.communicate(timeout=90)

    assert process.returncode == 0, stderr
    assert "wrote 4 secret(s)" in stdout


def test_fetcher_without_handoff_fails_clearly(tmp_path):
    result = run_fetcher(tmp_path, None, tmp_path / "home")

    assert result.returncode == 1
    assert result.stderr.startswith("envctl-secrets: cannot read the handoff:")


@pytest.mark.parametrize("interpreter", ["python3.6", "python3.7", "python3.8", "python3"])
def test_fetcher_runs_on_older_python(workspace, vault, stored, tmp_path, interpreter):
    """Boxes run their system Python, such as 3.7 on Amazon Linux 2; found on PATH or skipped."""
    import shutil
    import subprocess

    found = shutil.which(interpreter)
    if found is None:
        pytest.skip(f"{interpreter} is not on PATH")
    # A version manager's shim may exist without a version behind it; use the real binary.
    probe = subprocess.run([found, "-c", "import sys; print(sys.executable)"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"{interpreter} on PATH does not run: {probe.stderr.strip()[:80]}")
    python = probe.stdout.strip()

    result = run_fetcher(tmp_path, handoff_for(workspace, vault), tmp_path / "home",
                         python=python)

    assert result.returncode == 0, result.stderr
    assert "wrote 4 secret(s)" in result.stdout


def test_fetcher_writes_as_owner(workspace, vault, stored, tmp_path):
    """Run as root with --owner, the fetcher writes as that user, so the files are the user's."""
    import os
    import pwd
    import shutil
    import tempfile

    if os.geteuid() != 0:
        pytest.skip("switching users needs root")
    nobody = pwd.getpwnam("nobody")
    outer = Path(tempfile.mkdtemp(prefix="envctl-owner-"))  # pytest's tmp_path is root-only
    try:
        outer.chmod(0o755)
        home = outer / "home"
        home.mkdir()
        os.chown(home, nobody.pw_uid, nobody.pw_gid)

        result = run_fetcher(tmp_path, handoff_for(workspace, vault), home, "--owner=nobody")

        assert result.returncode == 0, result.stderr
        for written in (home / ".envctl", home / ".envctl" / "secrets.env",
                        home / ".aws" / "credentials"):
            assert written.stat().st_uid == nobody.pw_uid, written
    finally:
        shutil.rmtree(outer)
