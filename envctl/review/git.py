"""The few git commands review needs: the merge base, changed files, and files at a commit.

They run the real git binary in the project's repository, read only, and never change the
index, the work tree or the history.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from envctl.errors import GitError


@dataclass(frozen=True)
class FileChange:
    """One changed file: git's status letter (A, M, D, T) and its path from the repository top."""

    status: str
    path: PurePosixPath


def run_git(cwd: Path, *args: str) -> str:
    """Run git and return its stdout, raising GitError with the last stderr line on failure."""
    try:
        completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                                   check=False)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH; install git to use "
                       "--changed-since") from None
    if completed.returncode != 0:
        lines = completed.stderr.strip().splitlines() or ["no output"]
        raise GitError(f"git {' '.join(args)} failed in {cwd}: {lines[-1]}")
    return completed.stdout


def top_level(path: Path) -> Path:
    """Return the root folder of the repository that contains path."""
    try:
        return Path(run_git(path, "rev-parse", "--show-toplevel").strip()).resolve()
    except GitError:
        raise GitError(f"{path} is not inside a git repository; --changed-since compares "
                       "against a git ref, so run it in a clone") from None


def merge_base(top: Path, ref: str) -> str:
    """Return the merge base of ref and HEAD, which a pull request is compared against."""
    try:
        run_git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        raise GitError(f"unknown git ref {ref!r}; fetch it first (in GitHub Actions, check out "
                       "with fetch-depth: 0)") from None
    try:
        return run_git(top, "merge-base", ref, "HEAD").strip()
    except GitError:
        raise GitError(f"HEAD and {ref!r} share no history in this clone; fetch more history "
                       "(fetch-depth: 0) or compare against another ref") from None


def changed_files(top: Path, base: str, folder: PurePosixPath) -> list[FileChange]:
    """Files under folder that differ between base and the work tree, untracked ones included."""
    spec = str(folder) if str(folder) != "." else "."
    diff = run_git(top, "diff", "--name-status", "--no-renames", "-z", base, "--", spec)
    fields = [field for field in diff.split("\0") if field]
    changes = [FileChange(status[0], PurePosixPath(path))
               for status, path in zip(fields[::2], fields[1::2], strict=True)]
    untracked = run_git(top, "ls-files", "--others", "--exclude-standard", "-z", "--", spec)
    changes.extend(FileChange("A", PurePosixPath(path)) for path in untracked.split("\0") if path)
    return changes


def files_at(top: Path, commit: str, folder: PurePosixPath) -> list[PurePosixPath]:
    """Paths of the files under folder in commit."""
    spec = str(folder) if str(folder) != "." else "."
    listing = run_git(top, "ls-tree", "-r", "-z", "--name-only", commit, "--", spec)
    return [PurePosixPath(path) for path in listing.split("\0") if path]


def show_file(top: Path, commit: str, path: PurePosixPath) -> bytes:
    """Return the bytes of path as committed in commit."""
    completed = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=top,
                               capture_output=True, check=False)
    if completed.returncode != 0:
        raise GitError(f"git show {commit}:{path} failed: "
                       f"{completed.stderr.decode(errors='replace').strip()}")
    return completed.stdout
