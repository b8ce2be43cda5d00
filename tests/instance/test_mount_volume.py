"""mount-volume.sh against real loop devices: find by volume id, format only blank devices."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

from instance_support import BY_ID_LINK, SCRIPTS, VOLUME_ID, run_script, script_env

# Another EBS volume on the same instance, such as the root volume.
OTHER_BY_ID_LINK = "nvme-Amazon_Elastic_Block_Store_vol0fedcba9876543210"
# The NVMe serial number of the data volume: its id without the dash.
SERIAL = VOLUME_ID.replace("-", "").encode()


def link_by_id(root: Path, device: str) -> None:
    """Create the by-id link that udev makes for an EBS volume on a Nitro instance."""
    by_id = root / "dev/disk/by-id"
    by_id.mkdir(parents=True)
    (by_id / BY_ID_LINK).symlink_to(device)


def device_node(root: Path, name: str, device: str) -> Path:
    """Create root/dev/NAME as a block device node for the same device as DEVICE."""
    node = root / "dev" / name
    node.parent.mkdir(parents=True, exist_ok=True)
    number = os.stat(device).st_rdev
    os.mknod(node, 0o660 | stat.S_IFBLK, os.makedev(os.major(number), os.minor(number)))
    return node


def link_like_nitro(root: Path, data_device: str, other_device: str) -> Path:
    """Lay out /dev as udev does on a Nitro instance with two EBS volumes; return the data
    volume's device node.

    The volumes are NVMe devices, and /dev/disk/by-id contains relative links to them: one
    named by the volume id without its dash, one with an -ns-1 suffix, one by the NVMe WWID
    (vendor id, serial and model in hex), and one per partition of the root volume.
    """
    data = device_node(root, "nvme1n1", data_device)
    device_node(root, "nvme0n1", other_device)
    by_id = root / "dev/disk/by-id"
    by_id.mkdir(parents=True)
    links = {
        BY_ID_LINK: "nvme1n1",
        f"{BY_ID_LINK}-ns-1": "nvme1n1",
        f"nvme-nvme.1d0f-{SERIAL.hex()}-{b'Amazon Elastic Block Store'.hex()}-00000001": "nvme1n1",
        OTHER_BY_ID_LINK: "nvme0n1",
        f"{OTHER_BY_ID_LINK}-part1": "nvme0n1p1",
    }
    for name, target in links.items():
        (by_id / name).symlink_to(f"../../{target}")
    return data


def mount_volume(root: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = script_env(root, VOLUME_ID=VOLUME_ID, MOUNT_PATH="/data", **overrides)
    return run_script("mount-volume.sh", env=env)


def probe(device: str, tag: str) -> str:
    result = subprocess.run(
        ["blkid", "-p", "-o", "value", "-s", tag, device], capture_output=True, text=True
    )
    return result.stdout.strip()


def mount_source(target: Path) -> str:
    result = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE", "--mountpoint", str(target)],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


class TestMountVolume:
    def test_blank_device_formatted_and_mounted(self, fake_root: Path, loop_device: str):
        link_by_id(fake_root, loop_device)

        result = mount_volume(fake_root)

        assert result.returncode == 0, result.stderr
        assert probe(loop_device, "TYPE") == "ext4"
        assert probe(loop_device, "LABEL") == "envctl-data"
        assert mount_source(fake_root / "data") == loop_device
        uuid = probe(loop_device, "UUID")
        fstab = (fake_root / "etc/fstab").read_text()
        assert fstab == f"UUID={uuid} /data ext4 defaults,nofail 0 2\n"

    def test_device_with_data_not_reformatted(self, fake_root: Path, loop_device: str):
        link_by_id(fake_root, loop_device)
        assert mount_volume(fake_root).returncode == 0
        uuid = probe(loop_device, "UUID")
        (fake_root / "data/model.bin").write_bytes(b"weights")
        subprocess.run(["umount", str(fake_root / "data")], check=True)

        result = mount_volume(fake_root)

        assert result.returncode == 0, result.stderr
        assert "keeping its data" in result.stdout + result.stderr
        assert probe(loop_device, "UUID") == uuid
        assert (fake_root / "data/model.bin").read_bytes() == b"weights"

    def test_rerun_while_mounted_is_noop(self, fake_root: Path, loop_device: str):
        link_by_id(fake_root, loop_device)
        assert mount_volume(fake_root).returncode == 0

        result = mount_volume(fake_root)

        assert result.returncode == 0, result.stderr
        assert "already mounted" in result.stdout
        assert len((fake_root / "etc/fstab").read_text().splitlines()) == 1

    def test_fstab_keeps_other_entries(self, fake_root: Path, loop_device: str):
        link_by_id(fake_root, loop_device)
        (fake_root / "etc").mkdir()
        (fake_root / "etc/fstab").write_text(
            "LABEL=cloudimg-rootfs / ext4 defaults 0 1\nUUID=old /data ext4 defaults 0 2\n"
        )

        assert mount_volume(fake_root).returncode == 0

        lines = (fake_root / "etc/fstab").read_text().splitlines()
        assert lines[0] == "LABEL=cloudimg-rootfs / ext4 defaults 0 1"
        assert lines[1].startswith(f"UUID={probe(loop_device, 'UUID')} /data ")
        assert len(lines) == 2

    def test_attach_name_used_without_by_id_link(self, fake_root: Path, loop_device: str):
        result = mount_volume(fake_root, DEVICE_NAME=loop_device)

        assert result.returncode == 0, result.stderr
        assert mount_source(fake_root / "data") == loop_device

    def test_by_id_directory_override(self, fake_root: Path, loop_device: str, tmp_path: Path):
        by_id = tmp_path / "by-id"
        by_id.mkdir()
        (by_id / BY_ID_LINK).symlink_to(loop_device)

        result = mount_volume(fake_root, ENVCTL_BY_ID_DIR=str(by_id))

        assert result.returncode == 0, result.stderr
        assert mount_source(fake_root / "data") == loop_device

    def test_missing_device_fails_after_wait(self, fake_root: Path, loop_device: str):
        result = mount_volume(fake_root, ENVCTL_DEVICE_WAIT_SECONDS="1")

        assert result.returncode == 1
        assert f"volume {VOLUME_ID} did not appear" in result.stderr
        assert probe(loop_device, "TYPE") == ""

    def test_other_signature_not_formatted(self, fake_root: Path, loop_device: str):
        subprocess.run(["mkswap", loop_device], check=True, capture_output=True)
        link_by_id(fake_root, loop_device)

        result = mount_volume(fake_root)

        assert result.returncode == 1
        assert "mounting" in result.stderr
        assert probe(loop_device, "TYPE") == "swap"

    def test_mount_point_owned_by_user(self, fake_root: Path, loop_device: str):
        link_by_id(fake_root, loop_device)

        result = mount_volume(fake_root, ENVCTL_USER="nobody")

        assert result.returncode == 0, result.stderr
        assert (fake_root / "data").owner() == "nobody"

    def test_invalid_volume_id_rejected(self, fake_root: Path):
        env = script_env(fake_root, VOLUME_ID="vol-1; touch pwned", MOUNT_PATH="/data")

        result = run_script("mount-volume.sh", env=env)

        assert result.returncode == 1
        assert "is not an EBS volume id" in result.stderr
        assert not (fake_root / "data").exists()

    def test_nitro_by_id_link_chosen(
        self, fake_root: Path, loop_device: str, other_loop_device: str
    ):
        subprocess.run(["mkfs.ext4", "-q", other_loop_device], check=True)
        other_uuid = probe(other_loop_device, "UUID")
        data = link_like_nitro(fake_root, loop_device, other_loop_device)

        result = mount_volume(fake_root, DEVICE_NAME="/dev/sdf")

        assert result.returncode == 0, result.stderr
        assert f"volume {VOLUME_ID} is {data}" in result.stdout
        assert mount_source(fake_root / "data") == str(data)
        assert probe(loop_device, "LABEL") == "envctl-data"
        assert probe(other_loop_device, "UUID") == other_uuid
        assert probe(other_loop_device, "LABEL") == ""

    def test_waits_for_late_attachment(self, fake_root: Path, loop_device: str):
        env = script_env(
            fake_root, VOLUME_ID=VOLUME_ID, MOUNT_PATH="/data", ENVCTL_DEVICE_WAIT_SECONDS="60"
        )
        process = subprocess.Popen(
            [str(SCRIPTS / "mount-volume.sh")], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        # The script polls every 2 s. The link appears after the script started looking.
        time.sleep(3)
        assert process.poll() is None
        link_by_id(fake_root, loop_device)

        stdout, stderr = process.communicate(timeout=60)

        assert process.returncode == 0, stderr
        assert mount_source(fake_root / "data") == loop_device
        assert f"volume {VOLUME_ID} is {loop_device}" in stdout
