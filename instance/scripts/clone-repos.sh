#!/bin/bash
# Clone each listed repository at its ref, as the environment's user, unless its directory
# already exists. An existing directory is never touched, so local changes survive reboots,
# swaps and reruns. A failed clone is retried and then reported, and the other repositories
# are still cloned.
#
# Usage: clone-repos.sh BASE_DIR LIST
#   BASE_DIR  directory that the repository paths are relative to
#   LIST      NUL-terminated fields, three per repository: url, ref, path. NUL is the one byte
#             that cannot occur in them, so any URL, ref or path arrives unchanged.
# Environment: ENVCTL_USER, ENVCTL_CLONE_ATTEMPTS (default 3),
#   ENVCTL_RETRY_DELAY_SECONDS (default 30). Exits 1 when any repository failed.
set -uo pipefail

# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname -- "$0")/common.sh"

BASE_DIR=${1:?usage: clone-repos.sh BASE_DIR LIST}
LIST=${2:?usage: clone-repos.sh BASE_DIR LIST}
ATTEMPTS=${ENVCTL_CLONE_ATTEMPTS:-3}
RETRY_DELAY=${ENVCTL_RETRY_DELAY_SECONDS:-30}

# git may use only these transports, because ext:: and fd:: URLs would run commands. Prompts
# are off, because no one can answer them during boot.
git_as_user() {
    as_user \
        GIT_ALLOW_PROTOCOL=https:http:ssh:git:file \
        GIT_TERMINAL_PROMPT=0 \
        "GIT_SSH_COMMAND=ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new" \
        git "$@"
}

# Check out REF in a fresh clone: a remote branch as a local tracking branch, a tag or commit
# detached, anything else (such as refs/pull/1/head) fetched from origin first.
checkout_ref() {
    local dir=$1 ref=$2
    if [ "$ref" = HEAD ]; then
        return 0
    fi
    if git_as_user -C "$dir" show-ref --verify --quiet "refs/remotes/origin/$ref"; then
        git_as_user -C "$dir" checkout --quiet --track -B "$ref" "refs/remotes/origin/$ref"
    elif git_as_user -C "$dir" rev-parse --verify --quiet "$ref^{commit}" >/dev/null; then
        git_as_user -C "$dir" checkout --quiet --detach "$ref^{commit}"
    else
        git_as_user -C "$dir" fetch --quiet origin "$ref" &&
            git_as_user -C "$dir" checkout --quiet --detach FETCH_HEAD
    fi
}

# Clone into a staging directory beside the target and move it into place only when the
# checkout succeeded, so a failed attempt never leaves a half clone that later runs would keep.
clone_one() {
    local url=$1 ref=$2 path=$3
    local target="$BASE_DIR/$path"
    local parent=${target%/*}
    local staging="$parent/.envctl-clone-staging" attempt
    if [ -e "$target" ] || [ -L "$target" ]; then
        log "$(quoted "$target") exists; leaving it untouched"
        return 0
    fi
    # No ref or branch name starts with '-', and git would read one as an option.
    if [[ $ref == -* ]]; then
        log "error: ref $(quoted "$ref") for $(quoted "$url") starts with '-'; not cloning"
        return 1
    fi
    as_user mkdir -p -- "$parent" || return 1
    for ((attempt = 1; attempt <= ATTEMPTS; attempt++)); do
        as_user rm -rf -- "$staging"
        if git_as_user clone --quiet -- "$url" "$staging" && checkout_ref "$staging" "$ref" &&
            as_user mv -T -- "$staging" "$target"; then
            log "cloned $(quoted "$url") at $(quoted "$ref") into $(quoted "$target")"
            return 0
        fi
        log "cloning $(quoted "$url") at $(quoted "$ref") failed (attempt $attempt of $ATTEMPTS)"
        if ((attempt < ATTEMPTS)); then
            sleep "$RETRY_DELAY"
        fi
    done
    as_user rm -rf -- "$staging"
    return 1
}

failed=0
# The list is read on descriptor 3, so a command that reads stdin cannot consume it.
while IFS= read -r -d '' -u 3 url && IFS= read -r -d '' -u 3 ref &&
    IFS= read -r -d '' -u 3 path; do
    clone_one "$url" "$ref" "$path" || failed=1
done 3<"$LIST"
exit "$failed"
