"""Build the autostop agent's JSON configuration from a resolved environment spec.

The boot script installs the result at CONFIG_PATH, beside agent.py and a systemd timer.
README.md in this folder describes every key.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from envctl.definitions.spec import EnvironmentSpec
from envctl.resources import LAST_ACTIVITY_TAG

CONFIG_PATH = "/etc/envctl/autostop.json"
# Probe commands one run may wait for: who, ss, nvidia-smi and nproc.
PROBE_COMMANDS = 4
# Seconds power_off() waits for each poweroff command.
POWEROFF_COMMAND_TIMEOUT_SECONDS = 120
# Seconds the agent waits for the hook's process group after SIGTERM, then after SIGKILL.
HOOK_KILL_WAIT_SECONDS = 10
# Room for Python's start and the file work of one run.
RUN_MARGIN_SECONDS = 60
# HTTP calls of one activity report: a metadata token, the role name, its credentials and
# CreateTags.
REPORT_CALLS = 4
# The instance metadata service's address on every EC2 instance.
METADATA_URL = "http://169.254.169.254"
# The sandbox's boxes never run, because moto runs no machines. Their agent gets this fixed
# loopback address (moto's default port), not the emulator's own port: that port changes with
# every `sandbox up`, and each change would alter the user data and replace the box.
SANDBOX_AGENT_ENDPOINT = "http://127.0.0.1:5000"


# The agent keeps no defaults of its own: this is the whole configuration it reads, and
# README.md in this folder describes each key. Signals left out of "signals" are off.
DEFAULT_CONFIG: dict[str, Any] = {
    "idle_minutes": 60,
    "activity": None,
    "state_file": "/run/envctl/autostop/state.json",
    "poweroff_commands": [["systemctl", "poweroff"], ["shutdown", "-h", "now"]],
    "command_timeout_seconds": 20,
    "proc_root": "/proc",
    "pre_stop": {"command": None, "timeout_seconds": 300, "user": None},
    "envctl_probes": {"env": "ENVCTL_PROBE=1", "sources": ["127.0.0.2"]},
    "signals": {
        "ssh": {"input_within_minutes": 10},
        "ide": {
            "process_patterns": [
                ".vscode-server",
                ".vscodium-server",
                ".cursor-server",
                ".windsurf-server",
                "code-server",
                "remote-dev-server",
                "idea.vendor.name=JetBrains",
            ],
            "traffic_within_minutes": 10,
        },
        "ports": {"ports": [8888, 6006], "traffic_within_minutes": 10},
        "gpu": {"utilization_percent": 10},
        "cpu": {"load_per_core": 0.5},
        "lease": {"path": "/var/lib/envctl/keepalive"},
        "heartbeat": {
            "paths": ["/var/lib/envctl/heartbeat", "/var/lib/envctl/heartbeat.d/*"],
            "within_minutes": 10,
        },
    },
}


def activity_report(region: str, endpoints: Mapping[str, str] | None = None,
                    sandbox: bool = False) -> dict[str, Any]:
    """Return the agent's "activity" settings: where it reports the box's last activity.

    The agent tags its own instance through EC2's API, in REGION or at the project's ec2
    endpoint override, with the credentials of the box's role from the metadata service. In
    the sandbox both point at SANDBOX_AGENT_ENDPOINT, so nothing points past 127.0.0.1.
    """
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    ec2 = (endpoints or {}).get("ec2") or f"https://ec2.{region}.{domain}"
    if sandbox:
        ec2 = SANDBOX_AGENT_ENDPOINT
    return {
        "tag": LAST_ACTIVITY_TAG,
        "every_minutes": 5,
        "region": region,
        "ec2_endpoint": ec2,
        "metadata_url": ec2 if sandbox else METADATA_URL,
        # cloud-init writes the instance id here on every boot, so no metadata call is needed.
        "instance_id_path": "/var/lib/cloud/data/instance-id",
        "timeout_seconds": 5,
    }


def autostop_config(spec: EnvironmentSpec, activity: Mapping[str, Any] | None = None
                    ) -> dict[str, Any]:
    """Return the agent configuration for SPEC: its idle time, signals and pre-stop hook.

    The signals are those autostop.signals lists, or all of them, with the agent's default
    thresholds: GPU 10 %, load 0.5 per core, ports 8888 and 6006. A null autostop_minutes
    keeps the agent logging decisions without ever stopping the box. ACTIVITY, from
    activity_report(), turns on the last-activity tag; the box then needs a role that may set it.
    """
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["idle_minutes"] = spec.autostop_minutes
    config["activity"] = dict(activity) if activity else None
    config["signals"]["heartbeat"]["paths"].append(f"{spec.volume.mount_path}/.envctl/heartbeat")
    chosen = spec.autostop.signals if spec.autostop else None
    if chosen is not None:
        # The agent treats a signal missing from "signals" as off.
        config["signals"] = {name: settings for name, settings in config["signals"].items()
                             if name in chosen}
    hook = spec.autostop.pre_stop if spec.autostop else None
    if hook is not None:
        config["pre_stop"] = {"command": hook.command, "timeout_seconds": hook.timeout_seconds,
                              "user": hook.user}
    return config


def service_timeout_seconds(config: dict[str, Any] | None = None) -> int:
    """Return a TimeoutStartSec for one agent run that exceeds the hook and probe time limits.

    systemd kills a oneshot service that runs longer, and that must never cut a pre-stop hook
    short or stop the poweroff that follows it.
    """
    config = config or DEFAULT_CONFIG
    hook = config["pre_stop"]["timeout_seconds"] + HOOK_KILL_WAIT_SECONDS
    probes = PROBE_COMMANDS * config["command_timeout_seconds"]
    poweroff = len(config["poweroff_commands"]) * POWEROFF_COMMAND_TIMEOUT_SECONDS
    activity = config.get("activity")
    report = REPORT_CALLS * activity["timeout_seconds"] if activity else 0
    return int(hook + probes + poweroff + report + RUN_MARGIN_SECONDS)


def agent_source() -> str:
    """Return agent.py's text, for the boot script to embed as one file."""
    return (files("envctl.instance.autostop") / "agent.py").read_text(encoding="utf-8")
