"""mount-volume.sh against real loop devices: find by volume id, format only blank devices."""

from __future__ import annotations

import subprocess
from pathlib import Path

from instance_support import BY_ID_LINK, VOLUME_ID, run_script, script_env


def link_by_id(root: Path, device: str) -> None:
    """Create the by-id link that udev makes for an EBS volume on a Nitro instance."""
    by_id = root / "dev/disk/by-id"
    by_id.mkdir(parents=True)
    (by_id / BY_ID_LINK).symlink_to(device)


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
