"""Edits to environment files: the new value lands, and the user's comments stay where they
still hold."""

from __future__ import annotations

from pathlib import Path

from envctl.definitions.editing import set_field

ENVIRONMENT = """name: trainer
instance:
  type: g5.xlarge   # A10G, 24 GB
  # GPU types first, then the CPU fallback

  types: [g5.xlarge, t3.large]  # tried in order
# the data volume outlives every box
volume:
  size_gb: 200 # checkpoints
"""


def edited(tmp_path: Path, keys: tuple[str, ...], value: object) -> str:
    path = tmp_path / "trainer.yaml"
    path.write_text(ENVIRONMENT)
    set_field(path, keys, value)
    return path.read_text()


def test_new_value_drops_the_comment_on_its_line(tmp_path: Path) -> None:
    text = edited(tmp_path, ("instance", "type"), "t3.large")

    assert "  type: t3.large\n  # GPU types first, then the CPU fallback\n\n  types:" in text


def test_comment_lines_below_the_value_stay(tmp_path: Path) -> None:
    text = edited(tmp_path, ("instance", "types"), ["t3.large"])

    assert "# tried in order" not in text
    assert "\n# the data volume outlives every box\nvolume:" in text


def test_same_value_keeps_its_comment(tmp_path: Path) -> None:
    assert edited(tmp_path, ("volume", "size_gb"), 200) == ENVIRONMENT


def test_blank_line_after_dropped_comment_stays(tmp_path: Path) -> None:
    path = tmp_path / "whisper.yaml"
    path.write_text("instance:\n  type: g4dn.xlarge  # one T4\n\nvolume:\n  size_gb: 100\n")

    set_field(path, ("instance", "type"), "g5.xlarge")

    assert path.read_text() == "instance:\n  type: g5.xlarge\n\nvolume:\n  size_gb: 100\n"


def test_block_lists_keep_their_indent(tmp_path: Path) -> None:
    text = "repos:\n  - url: https://github.com/openai/whisper\n    ref: v20240930\n"
    path = tmp_path / "whisper.yaml"
    path.write_text(text)

    set_field(path, ("image", "pinned"), "ami-0123456789abcdef0")

    assert path.read_text() == text + "image:\n  pinned: ami-0123456789abcdef0\n"


def test_missing_mappings_are_created(tmp_path: Path) -> None:
    text = edited(tmp_path, ("volume", "snapshot_id"), "snap-0123456789abcdef0")

    assert "  size_gb: 200 # checkpoints\n  snapshot_id: snap-0123456789abcdef0\n" in text
