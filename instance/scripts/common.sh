# shellcheck shell=bash
# Helpers shared by the envctl boot scripts. Sourced, never run on its own.

# ENVCTL_ROOT relocates every system path (fstab, home directories, the mount point, systemd
# units, state) under a directory. It is empty on the box, and tests set it.
ENVCTL_ROOT=${ENVCTL_ROOT:-}
ENVCTL_USER=${ENVCTL_USER:-$(id -un)}

# Timestamped lines on stdout: cloud-init copies them to the console and to
# /var/log/cloud-init-output.log.
log() {
    printf '%s envctl %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${0##*/}" "$*"
}

# A value as shell-quoted text, so newlines and control characters in a log line stay visible.
quoted() {
    printf '%q' "$1"
}

user_home() {
    getent passwd "$ENVCTL_USER" | cut -d: -f6
}

# Run a command as ENVCTL_USER with a clean environment and stdin from /dev/null, so a prompt
# fails instead of hanging the boot. Leading NAME=VALUE arguments add variables, as with env.
as_user() {
    local env_args=(
        env -i
        "HOME=$ENVCTL_ROOT$(user_home)"
        "USER=$ENVCTL_USER"
        "LOGNAME=$ENVCTL_USER"
        "SHELL=/bin/bash"
        "LANG=C.UTF-8"
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    )
    if [ "$(id -un)" = "$ENVCTL_USER" ]; then
        "${env_args[@]}" "$@" </dev/null
    else
        runuser -u "$ENVCTL_USER" -- "${env_args[@]}" "$@" </dev/null
    fi
}

# Give a directory to ENVCTL_USER. The whole tree is re-owned only when the top is owned by
# another uid (a new image may number the user differently), because a recursive chown of a
# large home or workspace can take minutes.
claim() {
    if [ "$(stat -c %u -- "$1")" = "$(id -u -- "$ENVCTL_USER")" ]; then
        return 0
    fi
    chown -R -- "$ENVCTL_USER:" "$1"
}

# Add an fstab entry, replacing an older entry for the same mount point.
update_fstab() {
    local entry=$1 mount_point=$2 fstab="$ENVCTL_ROOT/etc/fstab" kept
    mkdir -p -- "${fstab%/*}"
    touch -- "$fstab"
    if grep -qxF -- "$entry" "$fstab"; then
        return 0
    fi
    kept=$(MOUNT_POINT=$mount_point awk '$2 != ENVIRON["MOUNT_POINT"]' "$fstab")
    {
        if [ -n "$kept" ]; then
            printf '%s\n' "$kept"
        fi
        printf '%s\n' "$entry"
    } >"$fstab"
}
