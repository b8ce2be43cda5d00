#!/bin/bash
# Run one setup script as the environment's user, with bounded retries, appending its output to
# a log file and to stdout (the console, on the box).
#
# Usage: run-setup.sh NAME SCRIPT WORKDIR LOG
#   An executable SCRIPT runs directly, so its #! line picks the interpreter. Any other runs
#   with bash -e, so the first failing command fails the attempt.
# Environment: ENVCTL_USER; ENVCTL_SETUP_ATTEMPTS (default 3); ENVCTL_RETRY_DELAY_SECONDS
#   (default 30); ENVCTL_SETUP_TIMEOUT_SECONDS, the limit per attempt (default 10800);
#   ENVCTL_MOUNT_PATH and ENVCTL_WORKSPACE, passed on to the script.
# Exits with the status of the last attempt.
set -uo pipefail

# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname -- "$0")/common.sh"

usage="usage: run-setup.sh NAME SCRIPT WORKDIR LOG"
NAME=${1:?$usage}
SCRIPT=${2:?$usage}
WORKDIR=${3:?$usage}
LOG=${4:?$usage}
ATTEMPTS=${ENVCTL_SETUP_ATTEMPTS:-3}
RETRY_DELAY=${ENVCTL_RETRY_DELAY_SECONDS:-30}
# NOTE: three hours is an estimate of the longest legitimate setup, such as one that downloads
# large models. A script that runs longer is killed, and the attempt counts as failed.
TIMEOUT=${ENVCTL_SETUP_TIMEOUT_SECONDS:-10800}

if [ -x "$SCRIPT" ]; then
    command=("$SCRIPT")
else
    command=(bash -e "$SCRIPT")
fi

run_attempt() {
    (
        cd -- "$WORKDIR" &&
            as_user \
                "ENVCTL_MOUNT_PATH=${ENVCTL_MOUNT_PATH:-}" \
                "ENVCTL_WORKSPACE=${ENVCTL_WORKSPACE:-}" \
                timeout --kill-after=60 "$TIMEOUT" "${command[@]}"
    ) 2>&1 | tee -a -- "$LOG"
    return "${PIPESTATUS[0]}"
}

mkdir -p -- "$(dirname -- "$LOG")"
status=1
for ((attempt = 1; attempt <= ATTEMPTS; attempt++)); do
    log "$NAME: attempt $attempt of $ATTEMPTS, as $ENVCTL_USER, logging to $LOG" | tee -a -- "$LOG"
    status=0
    run_attempt || status=$?
    if [ "$status" -eq 0 ]; then
        log "$NAME: succeeded" | tee -a -- "$LOG"
        exit 0
    fi
    log "$NAME: failed with exit status $status (attempt $attempt of $ATTEMPTS)" | tee -a -- "$LOG"
    if ((attempt < ATTEMPTS)); then
        sleep "$RETRY_DELAY"
    fi
done
log "$NAME: gave up after $ATTEMPTS attempts; see $LOG" | tee -a -- "$LOG"
exit "$status"
