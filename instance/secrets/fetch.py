#!/usr/bin/env python3
"""Fetch this box's secrets from Vault once; standard library only. See README.md."""
import json
import os
import pwd
import shlex
import ssl
import sys
import time
import urllib.request as rq
from urllib.error import HTTPError

UNWRAP = "sys/wrapping/unwrap"
HINTS = {UNWRAP: "the handoff was used or expired", 403: "permission denied", 404: "not found"}


def fail(message):
    sys.exit("envctl-secrets: " + message)


def call(h, path, token="", body=None):
    data = None if body is None else json.dumps(body).encode()
    request = rq.Request(h["address"] + "/v1/" + path, data, {"X-Vault-Token": token})
    context = ssl.create_default_context(cadata=h["ca_pem"]) if h.get("ca_pem") else None
    try:
        with rq.urlopen(request, timeout=30, context=context) as response:
            return json.loads(response.read() or b"{}")
    except HTTPError as error:
        fail(f"{path}: HTTP {error.code}: {HINTS.get(path) or HINTS.get(error.code, '')}")
    except OSError as error:
        fail(f"cannot reach Vault at {h['address']}: {error}")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".partial"
    if os.path.lexists(partial):
        os.unlink(partial)
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(text)
    os.replace(partial, path)


def read_handoff(source, deadline):
    # Until the deadline, a missing file or text that is not JSON yet (a delivery still
    # writing it) is read again.
    while True:
        try:
            with open(source) as stream:
                h = json.load(stream)
            os.unlink(source)
            return h
        except (OSError, ValueError) as error:
            if time.time() >= deadline:
                fail(f"cannot read the handoff: {error}")
        time.sleep(2)


def main(source, home="", owner="", wait="0"):
    h = read_handoff(source, time.time() + float(wait))
    secret_id = call(h, UNWRAP, h["wrapped_secret_id"], {})["data"]["secret_id"]
    login = {"role_id": h["role_id"], "secret_id": secret_id}
    token = call(h, h["login_path"], "", login)["auth"]["client_token"]
    try:
        values = [(s, call(h, s["path"], token)["data"]["data"]["value"]) for s in h["secrets"]]
    finally:
        call(h, "auth/token/revoke-self", token, {})

    # Write as the owner, so that a link planted in the home cannot redirect a write by root.
    if owner and os.getuid() == 0:
        user = pwd.getpwnam(owner)
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    home = home or os.path.expanduser("~")
    lines = ""
    for secret, value in values:
        if secret["file"]:
            write(os.path.join(home, secret["file"]), value)
        else:
            lines += secret["name"] + "=" + shlex.quote(value) + "\n"
    write(os.path.join(home, h["env_file"]), lines)
    print(f"envctl-secrets: wrote {len(values)} secret(s) for {h['environment']}")


if __name__ == "__main__":
    os.umask(0o077)
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        fail("usage: fetch.py HANDOFF [--home=DIR] [--owner=USER] [--wait=SECONDS]")
    main(sys.argv[1], **dict(a[2:].split("=", 1) for a in sys.argv[2:]))
