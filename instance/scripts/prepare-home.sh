#!/bin/bash
# Keep the user's home and workspace on the data volume, so they survive instance swaps.
#
# The home lives at MOUNT_PATH/home/USER and is bind-mounted over the user's home directory.
# On the first boot it is seeded from the image's home. On later boots (after a swap) the
# volume's copy is used, and the SSH keys cloud-init wrote for the new instance are added to
# its authorized_keys, so the key pair of the new instance can log in.
#
# Environment: MOUNT_PATH (required), ENVCTL_USER, ENVCTL_ROOT, as in mount-volume.sh.
set -euo pipefail

# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname -- "$0")/common.sh"

MOUNT_PATH=${MOUNT_PATH:?set MOUNT_PATH to the data volume mount point}

home_path=$(user_home)
if [ -z "$home_path" ] || [ "$home_path" = / ]; then
    log "error: user $(quoted "$ENVCTL_USER") has no home directory of its own" >&2
    exit 1
fi
system_home="$ENVCTL_ROOT$home_path"
volume_home="$ENVCTL_ROOT$MOUNT_PATH/home/$ENVCTL_USER"
workspace="$ENVCTL_ROOT$MOUNT_PATH/workspace"

# Append each key line of the image's authorized_keys that the volume's copy lacks.
merge_authorized_keys() {
    local image_keys="$system_home/.ssh/authorized_keys"
    local volume_keys="$volume_home/.ssh/authorized_keys" key
    [ -f "$image_keys" ] || return 0
    mkdir -p -- "$volume_home/.ssh"
    touch -- "$volume_keys"
    if [ -s "$volume_keys" ] && [ -n "$(tail -c 1 -- "$volume_keys")" ]; then
        printf '\n' >>"$volume_keys"
    fi
    while IFS= read -r key || [ -n "$key" ]; do
        if [ -n "$key" ] && ! grep -qxF -- "$key" "$volume_keys"; then
            printf '%s\n' "$key" >>"$volume_keys"
            log "added an SSH key from this instance to $volume_keys"
        fi
    done <"$image_keys"
    chmod 700 -- "$volume_home/.ssh"
    chmod 600 -- "$volume_keys"
    chown -R -- "$ENVCTL_USER:" "$volume_home/.ssh"
}

prepare_volume_home() {
    if [ -d "$volume_home" ]; then
        merge_authorized_keys
    else
        mkdir -p -- "$volume_home"
        if [ -d "$system_home" ]; then
            cp -a -- "$system_home/." "$volume_home/"
        fi
        log "created $volume_home from the image's home directory"
    fi
    claim "$volume_home"
    if [ ! -e "$volume_home/workspace" ] && [ ! -L "$volume_home/workspace" ]; then
        ln -s -- "$MOUNT_PATH/workspace" "$volume_home/workspace"
        chown -h -- "$ENVCTL_USER:" "$volume_home/workspace"
    fi
}

bind_home() {
    mkdir -p -- "$system_home"
    mount --bind -- "$volume_home" "$system_home"
    log "bind-mounted $volume_home at $system_home"
}

mkdir -p -- "$workspace"
claim "$workspace"
if mountpoint -q -- "$system_home"; then
    log "$system_home is already a mount point; leaving it"
else
    prepare_volume_home
    bind_home
fi
# requires-mounts-for orders the bind mount after the volume's mount at the next boot.
update_fstab "$MOUNT_PATH/home/$ENVCTL_USER $home_path none bind,nofail,x-systemd.requires-mounts-for=$MOUNT_PATH 0 0" "$home_path"
