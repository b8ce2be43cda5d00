#!/bin/bash
# The envctl boot sequence. cloud-init runs the user data, and so this script, once per
# instance: at first boot and after every instance swap (a new instance with a new root disk),
# not on a stop and start of the same instance. Run it again by hand, as root, to retry.
#
# Steps, in order: arm the autostop timer (before anything that can fail for long), mount the
# data volume, move home and workspace onto it, then, under a keep-alive lease, fetch the
# secrets from Vault, clone the repositories, run the shared setup and the owner's personal
# layer (dotfiles, personal setup). A failed step is recorded in /var/lib/envctl/status and the
# box stays up: nothing here reboots.
#
# Environment: VOLUME_ID and DEVICE_NAME come from the user data; ENVCTL_ROOT and ENVCTL_USER
# override paths and the user for tests; ENVCTL_SECRETS_WAIT_SECONDS (default 900) is how long
# the secrets step waits for the handoff.
set -uo pipefail

lib=$(cd -- "$(dirname -- "$0")" && pwd)
data="$lib/data"

# The environment's user: the one named at render time, else the image's default login user.
# NOTE: that lookup assumes cloud-init created the default user first, with uid 1000. That is
# true of the stock Ubuntu, Amazon Linux and Debian images but not of every custom image.
default_user() {
    if [ -s "$data/user" ]; then
        cat -- "$data/user"
    else
        getent passwd 1000 | cut -d: -f1
    fi
}
ENVCTL_USER=${ENVCTL_USER:-$(default_user)}

# shellcheck source=SCRIPTDIR/common.sh
source "$lib/common.sh"

MOUNT_PATH=$(cat -- "$data/mount-path")
STATE_DIR="$ENVCTL_ROOT/var/lib/envctl"
LOG_DIR="$ENVCTL_ROOT$MOUNT_PATH/.envctl/logs"
ENVCTL_MOUNT_PATH="$ENVCTL_ROOT$MOUNT_PATH"
ENVCTL_WORKSPACE="$ENVCTL_ROOT$MOUNT_PATH/workspace"
export ENVCTL_ROOT ENVCTL_USER MOUNT_PATH ENVCTL_MOUNT_PATH ENVCTL_WORKSPACE
# A comma-separated string, not an array, because bash 4.2 (Amazon Linux 2) treats an empty
# array as unset under set -u.
failed_steps=""

# The user data exports VOLUME_ID and DEVICE_NAME. They are kept, so a rerun by hand finds them.
remember() {
    local name=$1 value=${!1:-} file="$STATE_DIR/${1,,}"
    mkdir -p -- "$STATE_DIR"
    if [ -n "$value" ]; then
        printf '%s\n' "$value" >"$file"
    elif [ -s "$file" ]; then
        value=$(cat -- "$file")
    fi
    export "$name=$value"
}

write_status() {
    local state=$1
    mkdir -p -- "$STATE_DIR"
    {
        printf 'state=%s\n' "$state"
        printf 'failed_steps=%s\n' "$failed_steps"
        printf 'user=%s\n' "$ENVCTL_USER"
        printf 'logs=%s\n' "$LOG_DIR"
        printf 'updated=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    } >"$STATE_DIR/status.tmp"
    mv -f -- "$STATE_DIR/status.tmp" "$STATE_DIR/status"
}

finish() {
    if [ -z "$failed_steps" ]; then
        write_status ok
        log "boot finished; status ok"
        exit 0
    fi
    write_status failed
    log "boot finished with failed steps $failed_steps; see $STATE_DIR/status and $LOG_DIR"
    exit 1
}

step() {
    local name=$1
    shift
    log "step $name: starting"
    if "$@"; then
        log "step $name: done"
        return 0
    fi
    log "step $name: failed"
    failed_steps="${failed_steps:+$failed_steps,}$name"
    return 1
}

# The agent and its units are in the user data only when the environment has autostop on.
# shellcheck disable=SC2329  # called through step
install_autostop() {
    local units="$ENVCTL_ROOT/etc/systemd/system"
    if [ ! -f "$lib/units/envctl-autostop.timer" ]; then
        log "autostop is off for this environment"
        return 0
    fi
    mkdir -p -- "$units" "$ENVCTL_ROOT/etc/envctl" "$STATE_DIR/heartbeat.d"
    install -m 0644 -- "$lib/autostop/autostop.json" "$ENVCTL_ROOT/etc/envctl/autostop.json"
    install -m 0644 -- "$lib/units/envctl-autostop.service" "$lib/units/envctl-autostop.timer" "$units/"
    # The user writes the lease (envctl keepalive) and heartbeat files here without root.
    chown -- "$ENVCTL_USER:" "$STATE_DIR" "$STATE_DIR/heartbeat.d"
    accept_probe_marker
    if [ -n "$ENVCTL_ROOT" ]; then
        systemctl --root="$ENVCTL_ROOT" enable envctl-autostop.timer
    else
        systemctl daemon-reload && systemctl enable --now envctl-autostop.timer
    fi
}

# envctl marks its own SSH sessions with ENVCTL_PROBE=1, and the agent ignores marked sessions.
# sshd passes the variable on only when its configuration accepts it.
# NOTE: sshd reads sshd_config.d only where sshd_config includes it, as on Ubuntu 20.04+,
# Debian 11+ and Amazon Linux 2023. Elsewhere a probe with a terminal counts as activity.
# shellcheck disable=SC2329  # called through install_autostop
accept_probe_marker() {
    local drop_ins="$ENVCTL_ROOT/etc/ssh/sshd_config.d"
    if [ ! -d "$ENVCTL_ROOT/etc/ssh" ]; then
        log "no sshd configuration in /etc/ssh; envctl probes with a terminal count as activity"
        return 0
    fi
    mkdir -p -- "$drop_ins"
    printf 'AcceptEnv ENVCTL_PROBE\n' >"$drop_ins/50-envctl.conf"
    if [ -z "$ENVCTL_ROOT" ]; then
        systemctl reload ssh 2>/dev/null || systemctl reload sshd 2>/dev/null ||
            log "could not reload sshd; it accepts ENVCTL_PROBE from its next start"
    fi
}

# A lease keeps autostop from stopping the box while the repositories and setup scripts run.
# It expires by itself, so a setup that hangs cannot keep the box up for longer than that.
SETUP_LEASE_SECONDS=${ENVCTL_SETUP_LEASE_SECONDS:-10800}
LEASE_FILE="$STATE_DIR/keepalive"
setup_lease=""

# A lease that exists stays as it is, because the user wrote it (envctl keepalive).
# NOTE: that includes an expired lease left from an earlier boot, so a rerun by hand then runs
# the setup without one.
hold_setup_lease() {
    if [ ! -e "$LEASE_FILE" ]; then
        setup_lease=$(($(date +%s) + SETUP_LEASE_SECONDS))
        printf '%s\n' "$setup_lease" >"$LEASE_FILE"
    fi
}

# Remove the setup lease, unless someone replaced it since.
release_setup_lease() {
    if [ -n "$setup_lease" ] && [ "$(cat -- "$LEASE_FILE" 2>/dev/null)" = "$setup_lease" ]; then
        rm -f -- "$LEASE_FILE"
    fi
}

# Dotfiles follow the GitHub Codespaces convention: the first of these install scripts found
# in the repository runs.
# shellcheck disable=SC2329  # called through step
install_dotfiles() {
    local home dotfiles candidate
    home="$ENVCTL_ROOT$(user_home)"
    dotfiles="$home/.dotfiles"
    "$lib/clone-repos.sh" "$home" "$data/dotfiles.list" || return 1
    for candidate in install.sh install bootstrap.sh bootstrap script/bootstrap setup.sh setup \
        script/setup; do
        if [ -f "$dotfiles/$candidate" ]; then
            "$lib/run-setup.sh" dotfiles "$dotfiles/$candidate" "$dotfiles" "$LOG_DIR/dotfiles.log"
            return
        fi
    done
    log "the dotfiles repository has no install script; cloned it only"
}

# The fetcher is in the payload only when the environment names secrets. It waits for the
# handoff (a wrapped, single-use Vault secret id) that envctl delivers over SSH after apply, so
# the secret id is never in the user data or the Terraform state. It writes the env file and
# the secret files into the home as the user, before the setup scripts that load them.
SECRETS_WAIT_SECONDS=${ENVCTL_SECRETS_WAIT_SECONDS:-900}
HANDOFF_FILE="$ENVCTL_ROOT/run/envctl/secrets-handoff.json"

# shellcheck disable=SC2329  # called through step
fetch_secrets() {
    python3 "$lib/secrets/fetch.py" "$HANDOFF_FILE" --home="$ENVCTL_ROOT$(user_home)" \
        --owner="$ENVCTL_USER" --wait="$SECRETS_WAIT_SECONDS"
}

prepare_log_dir() {
    mkdir -p -- "$LOG_DIR"
    chmod 0755 -- "$ENVCTL_ROOT$MOUNT_PATH/.envctl" "$LOG_DIR"
}

main() {
    if [ -z "$ENVCTL_USER" ] || ! id -u -- "$ENVCTL_USER" >/dev/null; then
        log "error: no user to run the setup as: $(quoted "$ENVCTL_USER") does not exist"
        failed_steps=user
        finish
    fi
    remember VOLUME_ID
    remember DEVICE_NAME
    write_status running
    step autostop install_autostop
    step mount "$lib/mount-volume.sh" || finish
    step home "$lib/prepare-home.sh" || finish
    prepare_log_dir
    hold_setup_lease
    if [ -f "$lib/secrets/fetch.py" ]; then
        step secrets fetch_secrets
    fi
    step repos "$lib/clone-repos.sh" "$ENVCTL_WORKSPACE" "$data/repos.list"
    if [ -f "$data/setup" ]; then
        step setup "$lib/run-setup.sh" setup "$data/setup" "$ENVCTL_WORKSPACE" "$LOG_DIR/setup.log"
    fi
    if [ -f "$data/dotfiles.list" ]; then
        step dotfiles install_dotfiles
    fi
    if [ -f "$data/personal-setup" ]; then
        step personal-setup "$lib/run-setup.sh" personal-setup "$data/personal-setup" \
            "$ENVCTL_WORKSPACE" "$LOG_DIR/personal-setup.log"
    fi
    release_setup_lease
    finish
}

main "$@"
