"""The sandbox's Terraform state lives apart from real AWS state and ends with the sandbox."""

from __future__ import annotations

from envctl.sandbox import down, up


def test_down_drops_sandbox_state_only(tmp_path):
    sandbox_state = tmp_path / ".envctl" / "sandbox" / "state" / "env-0a1b2c3d.tfstate"
    real_state = tmp_path / ".envctl" / "state" / "env-0a1b2c3d.tfstate"
    up(tmp_path)
    for path in (sandbox_state, real_state):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")

    down(tmp_path)

    assert not sandbox_state.exists()
    assert real_state.read_text() == "{}"


def test_new_sandbox_starts_without_old_state(tmp_path):
    stale = tmp_path / ".envctl" / "sandbox" / "state" / "env-0a1b2c3d.tfstate"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")

    up(tmp_path)
    try:
        assert not stale.exists()
    finally:
        down(tmp_path)
