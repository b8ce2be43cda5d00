"""autostop_config(spec) and the constraints on agent.py as a file shipped to the box."""

from __future__ import annotations

import ast
import gzip
import json
import sys
from pathlib import Path
from typing import Any

from autostop_support import AGENT_PATH
from instance_support import make_spec

from envctl.definitions.models import AutostopSpec, VolumeSpec
from envctl.instance.autostop.agent import CHECKS
from envctl.instance.autostop.config import (
    DEFAULT_CONFIG,
    activity_report,
    agent_source,
    autostop_config,
    service_timeout_seconds,
)
from envctl.instance.payload import minify_python

README = AGENT_PATH.parent / "README.md"


class TestAutostopConfig:
    def test_idle_minutes_come_from_the_spec(self) -> None:
        config = autostop_config(make_spec(autostop_minutes=45))
        assert config["idle_minutes"] == 45

    def test_every_signal_is_on_with_the_default_thresholds(self) -> None:
        signals = autostop_config(make_spec(autostop_minutes=45))["signals"]
        assert list(signals) == list(CHECKS)
        assert signals["gpu"] == {"utilization_percent": 10}
        assert signals["cpu"] == {"load_per_core": 0.5}
        assert signals["ports"]["ports"] == [8888, 6006]
        assert signals["lease"] == {"path": "/var/lib/envctl/keepalive"}

    def test_heartbeat_on_the_data_volume(self) -> None:
        spec = make_spec(autostop_minutes=45, volume=VolumeSpec(mount_path="/mnt/work"))
        paths = autostop_config(spec)["signals"]["heartbeat"]["paths"]
        assert paths == ["/var/lib/envctl/heartbeat", "/var/lib/envctl/heartbeat.d/*",
                         "/mnt/work/.envctl/heartbeat"]

    def test_autostop_off_keeps_logging_without_stopping(self) -> None:
        config = autostop_config(make_spec(autostop_minutes=None))
        assert config["idle_minutes"] is None

    def test_defaults_stay_unchanged(self) -> None:
        autostop_config(make_spec(autostop_minutes=45, volume=VolumeSpec(mount_path="/mnt/w")))
        assert DEFAULT_CONFIG["signals"]["heartbeat"]["paths"] == [
            "/var/lib/envctl/heartbeat", "/var/lib/envctl/heartbeat.d/*"]
        assert DEFAULT_CONFIG["idle_minutes"] == 60

    def test_file_chooses_the_signals(self) -> None:
        autostop = AutostopSpec.model_validate({"signals": ["lease", "gpu", "ssh"]})
        config = autostop_config(make_spec(autostop_minutes=45, autostop=autostop))
        # The agent's order stays; a signal left out is off.
        assert list(config["signals"]) == ["ssh", "gpu", "lease"]
        assert config["signals"]["gpu"] == {"utilization_percent": 10}

    def test_unset_signals_keep_every_signal(self) -> None:
        autostop = AutostopSpec.model_validate({"idle_minutes": 45})
        with_section = autostop_config(make_spec(autostop_minutes=45, autostop=autostop))
        without = autostop_config(make_spec(autostop_minutes=45))
        assert with_section == without

    def test_pre_stop_hook_from_the_file(self) -> None:
        autostop = AutostopSpec.model_validate({"pre_stop": {
            "command": "/data/save-checkpoint.sh", "timeout_seconds": 900, "user": "ubuntu"}})
        config = autostop_config(make_spec(autostop_minutes=45, autostop=autostop))
        assert config["pre_stop"] == {"command": "/data/save-checkpoint.sh",
                                      "timeout_seconds": 900, "user": "ubuntu"}
        # 900 s hook + 10 s kill waits + 4 probes of 20 s + 2 poweroff commands of 120 s + 60.
        assert service_timeout_seconds(config) == 1290

    def test_no_hook_by_default(self) -> None:
        config = autostop_config(make_spec(autostop_minutes=45))
        assert config["pre_stop"] == {"command": None, "timeout_seconds": 300, "user": None}

    def test_json_round_trip_is_identity(self) -> None:
        config = autostop_config(make_spec(autostop_minutes=45))
        assert json.loads(json.dumps(config)) == config


class TestServiceTimeout:
    def test_exceeds_hook_probe_and_poweroff_limits(self) -> None:
        # 300 s hook + 10 s kill waits + 4 probes of 20 s + 2 poweroff commands of 120 s + 60.
        assert service_timeout_seconds() == 690

    def test_follows_a_longer_hook(self) -> None:
        config: dict[str, Any] = {**DEFAULT_CONFIG, "pre_stop": {"timeout_seconds": 1800}}
        assert service_timeout_seconds(config) == 2190


class TestAgentFile:
    def test_agent_source_is_the_file(self) -> None:
        assert agent_source() == AGENT_PATH.read_text()

    def test_agent_imports_only_the_standard_library(self) -> None:
        tree = ast.parse(AGENT_PATH.read_text())
        modules: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules.add(node.module.split(".")[0])
        assert modules - {"__future__"} <= set(sys.stdlib_module_names)

    def test_agent_is_python_3_8_syntax(self) -> None:
        ast.parse(AGENT_PATH.read_text(), feature_version=(3, 8))

    def test_agent_is_executable_script(self) -> None:
        assert AGENT_PATH.read_text().startswith("#!/usr/bin/env python3\n")

    def test_every_configuration_key_is_documented(self) -> None:
        readme = README.read_text()
        documented = {**DEFAULT_CONFIG, "activity": activity_report("us-east-1")}
        missing = sorted(key for key in _keys(documented)
                         if f"`{key}`" not in readme and f".{key}`" not in readme)
        assert missing == []

    def test_minified_agent_is_small(self) -> None:
        # The user data carries the agent minified and compressed, within EC2's 16 KB.
        minified = minify_python(AGENT_PATH.read_bytes())
        assert len(gzip.compress(minified, 9)) <= 6500

    def test_minified_agent_is_python_3_8_syntax(self) -> None:
        ast.parse(minify_python(AGENT_PATH.read_bytes()), feature_version=(3, 8))


def _keys(config: dict[str, Any]) -> set[str]:
    keys = set()
    for key, value in config.items():
        keys.add(key)
        if isinstance(value, dict):
            keys |= _keys(value)
    return keys


def test_readme_lives_beside_the_agent() -> None:
    assert Path(README).is_file()


def test_sandbox_activity_ignores_emulator_port() -> None:
    # The emulator's port changes with each `sandbox up`; the user data must not.
    first = activity_report("us-east-1", {"ec2": "http://127.0.0.1:48853"}, sandbox=True)
    second = activity_report("us-east-1", {"ec2": "http://127.0.0.1:51234"}, sandbox=True)

    assert first == second
    assert first["ec2_endpoint"] == "http://127.0.0.1:5000"
    assert first["metadata_url"] == "http://127.0.0.1:5000"


def test_real_activity_uses_regional_endpoint() -> None:
    activity = activity_report("eu-west-1")

    assert activity["ec2_endpoint"] == "https://ec2.eu-west-1.amazonaws.com"
    assert activity_report("cn-north-1")["ec2_endpoint"] == (
        "https://ec2.cn-north-1.amazonaws.com.cn")
    assert activity["metadata_url"] == "http://169.254.169.254"
