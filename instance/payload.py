"""The payload the user data carries to the box: boot scripts and the environment's data.

Text from the definition (repository URLs, refs and paths, setup scripts, tags) becomes data
files here, never shell or template source, so it arrives on the box byte for byte and inert.
envctl's own scripts are minified on the way, because EC2 limits the user data to 16 KB.
"""

from __future__ import annotations

import ast
import gzip
import io
import json
import logging
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

from envctl.definitions.models import RepoSpec
from envctl.definitions.spec import EnvironmentSpec
from envctl.errors import EnvctlError
from envctl.instance.autostop.config import autostop_config, service_timeout_seconds
from envctl.instance.personal import PersonalLayer
from envctl.instance.templating import render

log = logging.getLogger(__name__)

SCRIPTS = (
    "boot.sh",
    "clone-repos.sh",
    "common.sh",
    "mount-volume.sh",
    "prepare-home.sh",
    "run-setup.sh",
)
# The files holding the definition's and the owner's setup scripts.
# The personal layer's files; envctl.instance.deployed reads them back from deployed user data.
DOTFILES_LIST = "data/dotfiles.list"
PERSONAL_SETUP = "data/personal-setup"
SETUP_FILES = frozenset({"data/setup", PERSONAL_SETUP})
# fstab separates fields with whitespace, so the mount path keeps to these characters.
MOUNT_PATH = re.compile(r"^/[A-Za-z0-9._/-]+$")
POSIX_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# A here-document in a script: its body is data, so its lines must stay as they are.
HEREDOC = re.compile(rb"<<-?\s*['\"]?[A-Za-z_]")


class UserDataError(EnvctlError):
    """The user data for an environment cannot be built from its definition."""


@dataclass(frozen=True)
class PayloadFile:
    """One file unpacked under /usr/local/lib/envctl on the box."""

    name: str
    content: bytes
    mode: int = 0o644


def payload_files(
    spec: EnvironmentSpec,
    personal: PersonalLayer | None,
    user: str | None,
    *,
    activity: Mapping[str, Any] | None = None,
) -> list[PayloadFile]:
    """Collect the scripts, data files and autostop agent for one environment. activity goes
    into the agent's configuration, as render_user_data describes."""
    package = resources.files("envctl.instance")
    files = [
        PayloadFile(
            name,
            minify_shell(package.joinpath("scripts", name).read_bytes()),
            _script_mode(name),
        )
        for name in SCRIPTS
    ]
    files += _environment_files(spec, user)
    files += _personal_files(spec, personal or PersonalLayer())
    files += _autostop_files(spec, activity)
    files += _secrets_files(spec)
    return files


def pack(files: list[PayloadFile]) -> bytes:
    """Pack files into a gzip-compressed tar archive, byte-identical for identical input."""
    buffer = io.BytesIO()
    # No directory entries: tar creates the folders of the files it extracts (mode 0755 under
    # root's umask 022), and each entry would cost bytes of the user data.
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.USTAR_FORMAT) as archive,
    ):
        for file in sorted(files, key=lambda f: f.name):
            member = _member(file.name, tarfile.REGTYPE, file.mode, len(file.content))
            archive.addfile(member, io.BytesIO(file.content))
    return buffer.getvalue()


def minify_shell(script: bytes) -> bytes:
    """Drop the comment and blank lines of one of envctl's own shell scripts, and indent each
    level with one space instead of four.

    The shebang and shellcheck directives stay. A script with a here-document is returned
    unchanged. envctl's scripts hold no multi-line strings (a test checks this with bash), so
    every other line whose first non-blank character is '#' is a comment, and leading blanks
    are indentation.
    """
    if HEREDOC.search(script):
        return script
    kept = []
    for number, line in enumerate(script.splitlines(keepends=True)):
        stripped = line.lstrip()
        if number == 0 and line.startswith(b"#!") or stripped.startswith(b"# shellcheck "):
            kept.append(line)
        elif stripped and not stripped.startswith(b"#"):
            indent = len(line) - len(stripped)
            kept.append(b" " * (indent // 4) + b" " * (indent % 4) + stripped)
    return b"".join(kept)


def minify_python(source: bytes) -> bytes:
    """Drop the docstrings, comments and annotations of one of envctl's own Python scripts.

    ast.unparse writes the code back without comments, and then each indentation level takes
    one space. The shebang line stays. Annotations of functions and of assignments inside them
    go too, which is safe only for code that never reads them at run time, and with them
    `from __future__ import annotations` when no annotation is left.
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            _drop_annotations(node)
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    if not any(isinstance(node, ast.AnnAssign) for node in ast.walk(tree)):
        tree.body = [node for node in tree.body if not _is_future_import(node)]
    code = ast.unparse(tree)
    # Without docstrings no string spans lines, so leading spaces are indentation only. The
    # check below still keeps the unparsed code when the shorter one would mean anything else.
    short = re.sub(r"(?m)^((?:    )+)", lambda match: " " * (len(match[1]) // 4), code)
    if ast.dump(ast.parse(short)) == ast.dump(ast.parse(code)):
        code = short
    shebang = source.split(b"\n", 1)[0] + b"\n" if source.startswith(b"#!") else b""
    return shebang + code.encode() + b"\n"


def _drop_annotations(function: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    function.returns = None
    arguments = function.args
    for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
        argument.annotation = None
    for argument in (arguments.vararg, arguments.kwarg):
        if argument is not None:
            argument.annotation = None
    for node in ast.walk(function):
        for _, value in ast.iter_fields(node):
            if isinstance(value, list):
                value[:] = [_plain_assignment(item) for item in value]


def _plain_assignment(node: object) -> object:
    """Turn `name: type = value` into `name = value`; other nodes stay."""
    if isinstance(node, ast.AnnAssign) and node.value is not None and node.simple:
        return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno)
    return node


def _is_future_import(statement: ast.stmt) -> bool:
    """Whether STATEMENT is `from __future__ import annotations` and nothing else."""
    return (
        isinstance(statement, ast.ImportFrom)
        and statement.module == "__future__"
        and [alias.name for alias in statement.names] == ["annotations"]
    )


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _member(name: str, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.mode = mode
    member.size = size
    member.uname = member.gname = "root"
    return member


def _script_mode(name: str) -> int:
    return 0o644 if name == "common.sh" else 0o755


def _environment_files(spec: EnvironmentSpec, user: str | None) -> list[PayloadFile]:
    mount_path = spec.volume.mount_path
    if not MOUNT_PATH.match(mount_path):
        raise UserDataError(
            f"{spec.id}: volume.mount_path {mount_path!r} cannot go into /etc/fstab; "
            "use letters, digits, '.', '_', '-' and '/'"
        )
    files = [
        PayloadFile("data/environment.json", _environment_json(spec)),
        PayloadFile("data/mount-path", mount_path.encode()),
        PayloadFile("data/repos.list", _repo_list(spec)),
    ]
    if user is not None:
        if not POSIX_USER.match(user):
            raise UserDataError(f"{spec.id}: user {user!r} is not a valid Linux user name")
        files.append(PayloadFile("data/user", user.encode()))
    if spec.setup:
        files.append(_setup_file("data/setup", "setup", spec.setup, spec.id))
    return files


def _environment_json(spec: EnvironmentSpec) -> bytes:
    """Facts about the environment for agents on the box. Secret names only, never values.

    The display name and the tags stay out: any change here changes the user data, which
    replaces the instance, and a rename or a tag edit must leave the box alone.
    """
    facts = {
        "id": spec.id,
        "owner": spec.owner,
        "mount_path": spec.volume.mount_path,
        "workspace": f"{spec.volume.mount_path}/workspace",
        "autostop_minutes": spec.autostop_minutes,
        "secrets": [{"name": s.name, "scope": s.scope} for s in spec.secrets],
    }
    return (json.dumps(facts, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _repo_list(spec: EnvironmentSpec) -> bytes:
    """Encode the repositories as NUL-terminated url, ref and path fields for clone-repos.sh."""
    fields: list[str] = []
    seen: dict[str, str] = {}
    for repo in spec.repos:
        path = repo_directory(repo, spec.id)
        if path in seen:
            raise UserDataError(
                f"{spec.id}: repos {seen[path]!r} and {repo.url!r} both clone into {path!r}; "
                "set a different path on one of them"
            )
        seen[path] = repo.url
        fields += _checked_repo(repo.url, repo.ref, spec.id, "repos") + [path]
    return b"".join(field.encode() + b"\0" for field in fields)


def repo_directory(repo: RepoSpec, environment_id: str) -> str:
    """Return the clone's directory relative to the workspace: its path, else the repo name."""
    path = repo.path
    if path is None:
        name = re.split(r"[/:]", repo.url.rstrip("/"))[-1]
        path = name.removesuffix(".git")
    parts = PurePosixPath(path).parts
    if path.startswith("/") or not parts or ".." in parts:
        raise UserDataError(
            f"{environment_id}: repo {repo.url!r} has no usable directory ({path!r}); "
            "set path to a directory relative to the workspace"
        )
    _check_text(path, "repos path", environment_id)
    return "/".join(parts)


def _checked_repo(url: str, ref: str, environment_id: str, field: str) -> list[str]:
    _check_text(url, f"{field} url", environment_id)
    _check_text(ref, f"{field} ref", environment_id)
    if not url:
        raise UserDataError(f"{environment_id}: {field} url is empty; set a clone URL")
    # git would read a leading '-' as an option, and no branch, tag or commit starts with one.
    if not ref or ref.startswith("-"):
        raise UserDataError(
            f"{environment_id}: {field} ref {ref!r} for {url!r} is not a branch, tag or commit; "
            "use a name such as main or v1.2"
        )
    return [url, ref]


def _personal_files(spec: EnvironmentSpec, personal: PersonalLayer) -> list[PayloadFile]:
    files = []
    if personal.dotfiles_url is not None:
        fields = _checked_repo(personal.dotfiles_url, personal.dotfiles_ref, spec.id, "dotfiles")
        fields.append(".dotfiles")
        files.append(
            PayloadFile(DOTFILES_LIST, b"".join(f.encode() + b"\0" for f in fields))
        )
    if personal.setup:
        files.append(_setup_file(PERSONAL_SETUP, "personal setup", personal.setup, spec.id))
    return files


def _setup_file(name: str, field: str, script: str, environment_id: str) -> PayloadFile:
    """Make a setup script file, executable when it names its interpreter, else run by bash."""
    _check_text(script, field, environment_id)
    return PayloadFile(name, script.encode(), 0o755 if script.startswith("#!") else 0o644)


def _check_text(value: str, field: str, environment_id: str) -> None:
    # Command lines and environment variables end at NUL, so no value can carry one.
    if "\0" in value:
        raise UserDataError(f"{environment_id}: {field} contains a NUL character; remove it")


def _secrets_files(spec: EnvironmentSpec) -> list[PayloadFile]:
    """Carry the secret fetcher, byte for byte as shipped, when the environment names secrets.

    It stays unminified so that the box runs exactly the file the fetcher tests run.
    """
    if not spec.secrets:
        return []
    fetcher = resources.files("envctl.instance").joinpath("secrets", "fetch.py").read_bytes()
    return [PayloadFile("secrets/fetch.py", fetcher, 0o755)]


def packaged_agent() -> bytes | None:
    """Read the autostop agent shipped in this package, or return None while it is missing."""
    agent = resources.files("envctl.instance").joinpath("autostop", "agent.py")
    return agent.read_bytes() if agent.is_file() else None


def _autostop_files(spec: EnvironmentSpec,
                    activity: Mapping[str, Any] | None = None) -> list[PayloadFile]:
    if not spec.autostop_minutes:
        return []
    agent = packaged_agent()
    if agent is None:
        # NOTE: until instance/autostop/agent.py exists, the box has no idle agent and only the
        # CloudWatch alarm stops an idle instance.
        log.warning("%s: autostop agent not found in the package; the box gets none", spec.id)
        return []
    settings = autostop_config(spec, activity)
    config = json.dumps(settings, separators=(",", ":")) + "\n"
    # The service's time limit covers the environment's own pre-stop hook timeout.
    service = render("envctl-autostop.service.j2",
                     timeout_seconds=service_timeout_seconds(settings))
    return [
        PayloadFile("autostop/agent.py", minify_python(agent), 0o755),
        PayloadFile("autostop/autostop.json", config.encode()),
        PayloadFile("units/envctl-autostop.service", service.encode()),
        PayloadFile("units/envctl-autostop.timer", render("envctl-autostop.timer.j2").encode()),
    ]
