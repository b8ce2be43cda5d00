#!/bin/bash
# Find the environment's EBS data volume, create a filesystem on it only when it has none,
# mount it with an fstab entry and give the mount point to the environment's user.
#
# Environment:
#   VOLUME_ID    EBS volume id, such as vol-0123456789abcdef0 (required)
#   MOUNT_PATH   absolute mount point, such as /data (required)
#   DEVICE_NAME  device name in the volume attachment (default /dev/sdf). Xen instance types
#                expose the volume under this name or its /dev/xvd form.
#   ENVCTL_USER  owner of the mount point (default: the user running this script)
#   ENVCTL_ROOT  prefix for /etc/fstab, the mount point and /dev/disk/by-id (empty on the box)
#   ENVCTL_BY_ID_DIR            NVMe by-id links (default $ENVCTL_ROOT/dev/disk/by-id)
#   ENVCTL_DEVICE_WAIT_SECONDS  how long to wait for the attachment (default 600)
set -euo pipefail

# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname -- "$0")/common.sh"

readonly FS_LABEL=envctl-data
VOLUME_ID=${VOLUME_ID:-}
MOUNT_PATH=${MOUNT_PATH:-}
DEVICE_NAME=${DEVICE_NAME:-/dev/sdf}
BY_ID_DIR=${ENVCTL_BY_ID_DIR:-$ENVCTL_ROOT/dev/disk/by-id}
WAIT_SECONDS=${ENVCTL_DEVICE_WAIT_SECONDS:-600}

fail() {
    log "error: $*" >&2
    exit 1
}

check_inputs() {
    [[ $VOLUME_ID =~ ^vol-[0-9a-f]+$ ]] ||
        fail "VOLUME_ID $(quoted "$VOLUME_ID") is not an EBS volume id; set it to vol- and hex digits"
    [[ $MOUNT_PATH =~ ^/[A-Za-z0-9._/-]+$ ]] ||
        fail "MOUNT_PATH $(quoted "$MOUNT_PATH") is not an absolute path such as /data"
    [[ $DEVICE_NAME =~ ^/dev/[a-z0-9]+$ ]] ||
        fail "DEVICE_NAME $(quoted "$DEVICE_NAME") is not a device name such as /dev/sdf"
    [[ $WAIT_SECONDS =~ ^[0-9]+$ ]] ||
        fail "ENVCTL_DEVICE_WAIT_SECONDS $(quoted "$WAIT_SECONDS") is not a number of seconds"
    id -u -- "$ENVCTL_USER" >/dev/null || fail "user $(quoted "$ENVCTL_USER") does not exist"
}

# Nitro instance types expose EBS volumes as NVMe devices (/dev/nvme1n1) whose serial is the
# volume id without its dash, and udev links each one by that serial. The by-id link names the
# volume exactly, so it comes first. The attach name is what Xen instance types (and the
# ebsnvme-id udev rule of Amazon Linux) provide. Source: the EBS User Guide, "Map Amazon EBS
# volumes to NVMe device names".
find_device() {
    local candidates=("$BY_ID_DIR/nvme-Amazon_Elastic_Block_Store_${VOLUME_ID/-/}" "$DEVICE_NAME")
    if [[ $DEVICE_NAME == /dev/sd* ]]; then
        candidates+=("/dev/xvd${DEVICE_NAME#/dev/sd}")
    fi
    local deadline=$((SECONDS + WAIT_SECONDS)) candidate
    while true; do
        for candidate in "${candidates[@]}"; do
            if [ -b "$candidate" ]; then
                readlink -f -- "$candidate"
                return 0
            fi
        done
        if [ "$SECONDS" -ge "$deadline" ]; then
            return 1
        fi
        sleep 2
    done
}

# Print the device's filesystem type, creating ext4 only when blkid finds no signature at all.
# blkid -p probes the device itself rather than its cache and exits 2 when it finds nothing.
ensure_filesystem() {
    local device=$1 status=0 fs_type
    blkid -p -- "$device" >/dev/null || status=$?
    case $status in
        0)
            fs_type=$(blkid -p -o value -s TYPE -- "$device" || true)
            [ -n "$fs_type" ] ||
                fail "$device holds a partition table or other data but no filesystem; not formatting it, mount it by hand"
            log "$device already contains a filesystem ($fs_type); keeping its data" >&2
            ;;
        2)
            log "$device has no filesystem; creating ext4 labelled $FS_LABEL" >&2
            # -m 0: no blocks reserved for root, because this volume contains user data only.
            mkfs.ext4 -q -L "$FS_LABEL" -m 0 "$device" </dev/null >&2
            fs_type=ext4
            ;;
        *)
            fail "blkid could not probe $device (exit $status); not formatting it"
            ;;
    esac
    printf '%s\n' "$fs_type"
}

mount_device() {
    local device=$1 fs_type=$2 target="$ENVCTL_ROOT$MOUNT_PATH" uuid source
    uuid=$(blkid -p -o value -s UUID -- "$device")
    [ -n "$uuid" ] || fail "$device has a $fs_type filesystem without a UUID; cannot write an fstab entry"
    mkdir -p -- "$target"
    # nofail: a missing volume must not drop a later boot into emergency mode, since SSH would
    # then be unreachable.
    update_fstab "UUID=$uuid $MOUNT_PATH $fs_type defaults,nofail 0 2" "$MOUNT_PATH"
    if mountpoint -q -- "$target"; then
        source=$(findmnt -n -o SOURCE --mountpoint "$target")
        [ "$(readlink -f -- "$source")" = "$device" ] ||
            fail "$target is already a mount point of $source, not of $device"
        log "$device is already mounted at $target"
    else
        mount -t "$fs_type" -o defaults -- "$device" "$target" ||
            fail "mounting $device ($fs_type) at $target failed"
        log "mounted $device (UUID $uuid) at $target"
    fi
    chown -- "$ENVCTL_USER:" "$target"
}

main() {
    check_inputs
    local device fs_type
    device=$(find_device) ||
        fail "volume $VOLUME_ID did not appear as $BY_ID_DIR/nvme-Amazon_Elastic_Block_Store_${VOLUME_ID/-/} or $DEVICE_NAME within $WAIT_SECONDS s; check the volume attachment"
    log "volume $VOLUME_ID is $device"
    fs_type=$(ensure_filesystem "$device")
    mount_device "$device" "$fs_type"
}

main "$@"
