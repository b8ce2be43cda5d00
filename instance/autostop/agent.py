#!/usr/bin/env python3
"""Idle autostop agent for an envctl environment: powers the box off once it has been idle.

A systemd timer runs it once a minute as root. README.md in this folder describes the signals,
the configuration, the state file and the failure behaviour. Standard library only, Python 3.8+.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import namedtuple
from datetime import datetime
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit

LOG = logging.getLogger("envctl.autostop")
# A longer silence between two checks means the agent did not run, so nothing is known about
# activity in between and the idle time restarts rather than jumping forward.
MAX_CHECK_GAP_SECONDS = 600
NVIDIA_SMI = ("nvidia-smi", "--query-gpu=index,utilization.gpu", "--format=csv,noheader,nounits")
# What collect() leaves for a signal that is off or whose probe failed.
NO_SAMPLES = {"sessions": [], "marked": set(), "sockets": [], "cmdlines": {},
              "gpu": [], "load": None, "lease": None, "heartbeats": []}
# A TCP socket from ss: local and peer are (address, port), procs maps pid to command name,
# and age is the seconds since the last packet either way (None without ss -i counters).
Socket = namedtuple("Socket", "state local peer procs age")


def run_command(argv: list[str], timeout: float) -> tuple[int | None, str, str]:
    """Run a probe command in the C locale; return its exit status (None: not installed),
    stdout and stderr. Raise RuntimeError on timeout."""
    try:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, errors="replace", env=dict(os.environ, LC_ALL="C"))
    except FileNotFoundError:
        return None, "", "not installed"
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # No wait after the kill: a process stuck in the kernel ignores SIGKILL, as nvidia-smi
        # can with a failing driver, and waiting would block every later check.
        process.kill()
        raise RuntimeError(f"{argv[0]} timed out after {timeout:g}s") from None
    return process.returncode, out, err


def _read(path: str) -> str | None:
    try:
        with open(path, errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def first_line(text: str) -> str:
    return (text.strip() or "no output").splitlines()[0]


# Probe parsers: pure functions of command output


def parse_who(text: str) -> list[tuple]:
    """Parse `who -u` into (user, terminal, idle seconds or None, pid) per login session.

    The login time is ISO (2026-12-04 14:28) or C locale (Dec  4 14:28). The idle column is "."
    below a minute, HH:MM below a day, "old" above, and "?" when unknown.
    """
    sessions = []
    for line in text.splitlines():
        match = re.match(r"(\S+)\s+(\S+)\s.*?\d:\d\d\s+(\.|old|\?|(\d+):(\d\d))\s+(\d+)", line)
        if match:
            user, tty, idle, hours, minutes, pid = match.groups()
            seconds = {".": 0, "old": 86400}.get(idle)
            if hours:
                seconds = int(hours) * 3600 + int(minutes) * 60
            sessions.append((user, tty, seconds, int(pid)))
    return sessions


def parse_ss(text: str) -> list[Socket]:
    """Parse `ss -tanpi`; the -i counters sit on an indented line below each socket."""
    rows = []
    for line in text.splitlines():
        if line[:1].isspace() and rows:
            rows[-1] += line
        elif line.strip():
            rows.append(line)
    sockets = []
    for row in rows:
        tokens = row.split()
        if tokens[0].startswith("tcp"):
            tokens = tokens[1:]
        ends = [parse_endpoint(token) for token in tokens[3:5]]
        if len(ends) == 2 and all(ends) and tokens[1].isdigit():
            ages = [int(ms) / 1000 for ms in re.findall(r"\blast(?:snd|rcv):(\d+)", row)]
            procs = {int(pid): name for name, pid in re.findall(r'"([^"]*)",pid=(\d+)', row)}
            sockets.append(Socket(tokens[0], *ends, procs, min(ages) if ages else None))
    return sockets


def parse_endpoint(text: str) -> tuple[str, int] | None:
    """Split ADDRESS:PORT as ss prints it (127.0.0.1:22, [::1]:22, *:*, 127.0.0.53%lo:53).

    An IPv4-mapped IPv6 address becomes IPv4, so both ends of a connection match.
    """
    address, _, port = text.rpartition(":")
    address = re.sub(r"^::ffff:(?=.*\.)", "", address.strip("[]").split("%")[0])
    if address and (port.isdigit() or port == "*"):
        return address, int(port.replace("*", "0"))
    return None


def parse_nvidia_smi(code: int, out: str, err: str) -> list[tuple[str, float | None]]:
    """Return (GPU index, utilisation or None) per GPU from the NVIDIA_SMI query.

    "No devices were found" means no GPU. A bracketed value such as "[N/A]" (MIG mode) means
    the GPU does not report utilisation. Raise RuntimeError on driver errors.
    """
    if "No devices were found" in out + err:
        return []
    readings = []
    try:
        for number, line in enumerate(out.splitlines()):
            # Without an index column, the line number is the GPU index.
            cells = [str(number)] + [cell.strip() for cell in line.split(",")]
            readings.append((cells[-2], None if "[" in cells[-1] else float(cells[-1])))
    except ValueError:
        code = code or 1
    if code or not readings:
        raise RuntimeError(f"nvidia-smi exit {code}: {first_line(out + err)}")
    return readings


def parse_lease(text: str) -> float:
    """Return a lease's expiry in Unix seconds from Unix seconds or ISO 8601 with an offset."""
    value = text.strip()
    if re.match(r"\d+(\.\d+)?$", value):
        return float(value)
    moment = datetime.fromisoformat(re.sub("Z$", "+00:00", value))
    if moment.tzinfo is None:
        raise ValueError(f"lease {value} has no UTC offset")
    return moment.timestamp()


# Sampling: the only part that reads the system


def collect(config: dict, run) -> dict:
    """Run the probes of the signals that are on; a probe that raises lands in errors."""
    signals = config["signals"]
    boot_id = _read(config["proc_root"] + "/sys/kernel/random/boot_id")
    samples = dict(NO_SAMPLES, boot_id=boot_id and boot_id.strip(), errors={})

    def output(*argv):
        code, out, err = run(argv, config["command_timeout_seconds"])
        if code != 0:
            raise RuntimeError(f"{argv[0]} exit {code}: {first_line(err)}")
        return out

    for names, sample in (("ssh", _ssh), ("ide ports", _sockets), ("gpu", _gpu), ("cpu", _cpu),
                          ("lease", _lease), ("heartbeat", _heartbeats)):
        on = [name for name in names.split() if name in signals]
        try:
            if on:
                samples.update(sample(config, output, run))
        except Exception as error:  # noqa: BLE001 - one broken probe must not stop the others
            samples["errors"].update(dict.fromkeys(on, str(error)))
    return samples


def _ssh(config: dict, output, run) -> dict:
    sessions = parse_who(output("who", "-u"))
    marker = config["envctl_probes"]["env"]
    environ = config["proc_root"] + "/{}/environ"
    marked = {s[3] for s in sessions if marker in (_read(environ.format(s[3])) or "").split("\0")}
    return {"sessions": sessions, "marked": marked}


def _sockets(config: dict, output, run) -> dict:
    sockets = parse_ss(output("ss", "-tanpi"))
    cmdlines = {pid: _read(f"{config['proc_root']}/{pid}/cmdline") or ""
                for socket in sockets for pid in socket.procs}
    return {"sockets": sockets, "cmdlines": cmdlines}


def _gpu(config: dict, output, run) -> dict:
    code, out, err = run(NVIDIA_SMI, config["command_timeout_seconds"])
    return {"gpu": [] if code is None else parse_nvidia_smi(code, out, err)}


def _cpu(config: dict, output, run) -> dict:
    with open(config["proc_root"] + "/loadavg") as handle:
        load = float(handle.read().split()[0])
    return {"load": (load, int(output("nproc")))}


def _lease(config: dict, output, run) -> dict:
    text = _read(config["signals"]["lease"]["path"])
    return {"lease": text and parse_lease(text)}


def _heartbeats(config: dict, output, run) -> dict:
    found = []
    for pattern in config["signals"]["heartbeat"]["paths"]:
        for path in sorted(glob.glob(pattern)):
            with contextlib.suppress(OSError):  # removed since the glob
                found.append((path, os.stat(path).st_mtime))
    return {"heartbeats": found}


# Signals: pure checks of one round of samples. Each returns its activities as
# (wall-clock time, detail) pairs.


def check_ssh(now: float, samples: dict, settings: dict, config: dict) -> list:
    """Count keyboard input in login sessions, except those with envctl's probe marker."""
    return [(now - idle, f"{user} on {tty} typed {duration(idle)} ago")
            for user, tty, idle, pid in samples["sessions"]
            if pid not in samples["marked"] and idle is not None
            and idle <= settings["input_within_minutes"] * 60]


def check_ide(now: float, samples: dict, settings: dict, config: dict) -> list:
    """Count clients of an IDE server: connections to a port it listens on, or from sshd (a
    forwarded port), but not its outbound connections or those between its own processes."""
    ide = {pid for pid, cmdline in samples["cmdlines"].items()
           if any(pattern in cmdline for pattern in settings["process_patterns"])}
    sockets = samples["sockets"]
    listening = {s.local[1] for s in sockets if s.state == "LISTEN" and ide & s.procs.keys()}
    by_ends = {(s.local, s.peer): s.procs for s in sockets}
    found: list = []
    for socket in sockets:
        other = by_ends.get((socket.peer, socket.local), {})
        pid = min(ide & socket.procs.keys(), default=None)
        if pid and not ide & other.keys() and (socket.local[1] in listening
                                               or "sshd" in other.values()):
            found += _client(now, socket, settings, config, f"{socket.procs[pid]} (pid {pid})")
    return found


def check_ports(now: float, samples: dict, settings: dict, config: dict) -> list:
    return [activity for socket in samples["sockets"] if socket.local[1] in settings["ports"]
            for activity in _client(now, socket, settings, config, f"port {socket.local[1]}")]


def check_gpu(now: float, samples: dict, settings: dict, config: dict) -> list:
    return [(now, f"GPU {index} at {value:g}%") for index, value in samples["gpu"]
            if value is not None and value >= settings["utilization_percent"]]


def check_cpu(now: float, samples: dict, settings: dict, config: dict) -> list:
    load, cores = samples["load"] or (0, 1)
    if load / cores < settings["load_per_core"]:
        return []
    return [(now, f"load {load:g} on {cores} cores")]


def check_lease(now: float, samples: dict, settings: dict, config: dict) -> list:
    expiry = samples["lease"] or 0
    return [(now, f"lease until {utc(expiry)}")] if expiry > now else []


def check_heartbeat(now: float, samples: dict, settings: dict, config: dict) -> list:
    return [(mtime, f"{path} touched {duration(now - mtime)} ago")
            for path, mtime in samples["heartbeats"]
            if now - mtime <= settings["within_minutes"] * 60]


CHECKS = {"ssh": check_ssh, "ide": check_ide, "ports": check_ports, "gpu": check_gpu,
          "cpu": check_cpu, "lease": check_lease, "heartbeat": check_heartbeat}


def _client(now: float, socket: Socket, settings: dict, config: dict, owner: str) -> list:
    """Return the activity of an established connection, unless it is an envctl probe or its
    last packet is older than the window."""
    age = socket.age or 0
    if (socket.state != "ESTAB" or is_probe_source(socket.peer[0], config)
            or age > settings["traffic_within_minutes"] * 60):
        return []
    return [(now - age, f"{owner} has a client at {socket.peer[0]} port {socket.peer[1]}")]


def is_probe_source(address: str, config: dict) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # such as "*"
    return any(ip in ipaddress.ip_network(net) for net in config["envctl_probes"]["sources"])


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}m" if seconds >= 60 else f"{seconds}s"


def utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


# The decision: a pure function of the time, the samples, the configuration and the state


def decide(now: tuple[float, float], samples: dict, config: dict, state: dict | None
           ) -> tuple[dict, bool]:
    """Return the state to save after this check and whether the box should stop.

    NOW is (wall-clock, monotonic) seconds. The idle time runs on the monotonic clock, which
    wall-clock steps do not move. Activity times are wall-clock, from file times and traffic
    ages; one in the future counts as now.
    """
    wall, monotonic = now
    reasons, active_at = [], []
    for name, check in CHECKS.items():
        if name in config["signals"]:
            for at, detail in check(wall, samples, config["signals"][name], config):
                reasons.append(f"{name}: {detail}")
                active_at.append(monotonic - wall + min(at, wall))
    restart = _restart_reason(now, samples, state)
    if restart:
        reasons.append(restart)
    last_active = max([monotonic if restart else state["last_active_monotonic"]] + active_at)
    idle = monotonic - last_active
    limit = config["idle_minutes"]
    return {
        "version": 1, "boot_id": samples["boot_id"], "active": bool(reasons),
        "idle_seconds": idle, "last_active_wall": wall - idle, "last_check_wall": wall,
        "last_active_monotonic": last_active, "last_check_monotonic": monotonic,
        "reasons": reasons,
        "notes": [f"{name}: probe failed: {error}" for name, error in samples["errors"].items()],
    }, limit is not None and idle >= limit * 60


def _restart_reason(now: tuple[float, float], samples: dict, state: dict | None) -> str | None:
    """Return why the idle time restarts at zero, or None when it continues."""
    if state is None:
        return "start: no earlier check"
    if state["boot_id"] != samples["boot_id"]:
        return "start: first check since boot"
    # A gap below zero means the monotonic clock started again: a new boot without a boot id.
    gap = now[1] - state["last_check_monotonic"]
    if not 0 <= gap <= MAX_CHECK_GAP_SECONDS:
        return f"start: no check for {duration(gap)}"
    return None


def describe(state: dict, stop: bool, config: dict) -> str:
    """Format a decision as one log line."""
    limit = config["idle_minutes"]
    status = "stopping, " if stop else "active, " if state["active"] else ""
    limit = "never" if limit is None else duration(limit * 60)
    details = "; ".join(state["reasons"] + state["notes"]) or "no activity"
    return f"{status}idle {duration(state['idle_seconds'])} of {limit}: {details}"


def load_state(path: str) -> dict | None:
    """Read the state file; a missing or unreadable one returns None, which restarts idle time."""
    try:
        with open(path) as handle:
            state = json.load(handle)
        float(state["last_active_monotonic"]) + float(state["last_check_monotonic"])
        return state
    except (OSError, ValueError, TypeError, KeyError):
        return None


def save_state(path: str, state: dict) -> bool:
    """Write the state atomically, so a crash leaves the old file or the new one, never half.

    Return whether that worked."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".new", "w") as handle:
            json.dump(state, handle)
        os.replace(path + ".new", path)
        return True
    except OSError as error:
        LOG.error("cannot write state file %s: %s", path, error)
        return False


# Activity report: the box tags its own instance with its last activity, for `envctl ls`


def report_due(settings: dict | None, state: dict, previous: dict | None, stop: bool) -> bool:
    """Return whether to report now: only a newer last activity, at most once per
    every_minutes, and at once before a stop, so that the last report before a stop carries
    the box's final activity."""
    if not settings:
        return False
    previous = previous or {}
    reported = previous.get("activity_reported_wall") or 0
    # A second's slack: the last activity is recomputed from two clocks on every check.
    if state["last_active_wall"] <= reported + 1:
        return False
    attempted = previous.get("activity_attempt_wall")
    return (stop or attempted is None
            or state["last_check_wall"] - attempted >= settings["every_minutes"] * 60)


def report(settings: dict | None, state: dict, previous: dict | None, stop: bool) -> None:
    """Tag the instance with the last activity when due, and note the outcome in STATE.

    A failed report is a note in the decision line; it never changes the decision."""
    previous = previous or {}
    for key in ("activity_reported_wall", "activity_attempt_wall"):
        state[key] = previous.get(key)
    if not report_due(settings, state, previous, stop):
        return
    state["activity_attempt_wall"] = state["last_check_wall"]
    try:
        instance = tag_instance(settings, utc(state["last_active_wall"]))
    except Exception as error:  # noqa: BLE001 - the report must never block a decision
        state["notes"].append(f"activity report failed: {error}")
        return
    state["activity_reported_wall"] = state["last_active_wall"]
    LOG.info("reported last activity %s in tag %s of %s",
             utc(state["last_active_wall"]), settings["tag"], instance)


def tag_instance(settings: dict, value: str) -> str:
    """Set the activity tag on this box's instance with EC2's CreateTags; return its id."""
    credentials = metadata_credentials(settings)
    instance = (_read(settings["instance_id_path"]) or "").strip()
    if not instance:
        instance = metadata_get(settings, "instance-id", credentials["metadata_token"])
    body = urlencode({"Action": "CreateTags", "Version": "2016-11-15", "ResourceId.1": instance,
                      "Tag.1.Key": settings["tag"], "Tag.1.Value": value})
    url = settings["ec2_endpoint"].rstrip("/") + "/"
    headers = sign_v4("POST", url, body, settings["region"], "ec2", credentials, time.time())
    http_call(urllib.request.Request(url, body.encode(), headers, method="POST"),
              settings["timeout_seconds"], "CreateTags")
    return instance


def metadata_credentials(settings: dict) -> dict:
    """Read the box role's temporary credentials from the metadata service (IMDSv2)."""
    token_request = urllib.request.Request(
        settings["metadata_url"].rstrip("/") + "/latest/api/token", method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    token = http_call(token_request, settings["timeout_seconds"], "metadata token")
    roles = metadata_get(settings, "iam/security-credentials/", token).split()
    if not roles:
        raise RuntimeError("the instance has no IAM role")
    found = json.loads(metadata_get(settings, "iam/security-credentials/" + roles[0], token))
    return {"access_key": found["AccessKeyId"], "secret_key": found["SecretAccessKey"],
            "token": found.get("Token"), "metadata_token": token}


def metadata_get(settings: dict, path: str, token: str) -> str:
    url = settings["metadata_url"].rstrip("/") + "/latest/meta-data/" + path
    request = urllib.request.Request(url, headers={"X-aws-ec2-metadata-token": token})
    return http_call(request, settings["timeout_seconds"], "metadata " + path)


# Proxies from the environment never apply, because the metadata service is reachable only
# from the box itself.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_call(request: urllib.request.Request, timeout: float, call_name: str) -> str:
    """Send REQUEST; return the body, or raise RuntimeError naming CALL_NAME and the AWS error."""
    try:
        with DIRECT.open(request, timeout=timeout) as response:
            return response.read().decode(errors="replace")
    except HTTPError as error:
        text = error.read().decode(errors="replace")
        code = re.search(r"<Code>([^<]+)</Code>", text)
        detail = code.group(1) if code else first_line(text)
        raise RuntimeError(f"{call_name}: HTTP {error.code} {detail}") from None
    except OSError as error:
        raise RuntimeError(f"{call_name}: {error}") from None


def sign_v4(method: str, url: str, body: str, region: str, service: str, credentials: dict,
            now: float) -> dict:
    """Return the headers that sign a form-encoded request with AWS Signature Version 4."""
    moment = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    parts = urlsplit(url)
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
               "Host": parts.netloc, "X-Amz-Date": moment}
    if credentials.get("token"):
        headers["X-Amz-Security-Token"] = credentials["token"]
    names = sorted(name.lower() for name in headers)
    values = {name.lower(): value.strip() for name, value in headers.items()}
    signed = ";".join(names)
    canonical = "\n".join([method, parts.path or "/", parts.query,
                           "".join(f"{name}:{values[name]}\n" for name in names), signed,
                           hashlib.sha256(body.encode()).hexdigest()])
    scope = f"{moment[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", moment, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + credentials["secret_key"]).encode()
    for part in (moment[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={credentials['access_key']}/"
                                f"{scope}, SignedHeaders={signed}, Signature={signature}")
    return headers


# Stopping


def run_pre_stop_hook(settings: dict) -> str | None:
    """Run the hook with /bin/sh -c in its own process group, log its output and how it ended,
    and return that (None when no hook is set).

    On timeout the group gets SIGTERM and, 5 s later, SIGKILL, so background children end
    too. Output goes to a file, not a pipe, so a child that left the group cannot keep the
    agent waiting for end of file.
    """
    if not settings["command"]:
        return None
    argv = ["/bin/sh", "-c", settings["command"]]
    if settings["user"]:
        argv = ["runuser", "-u", settings["user"], "--"] + argv
    timeout = settings["timeout_seconds"]
    with tempfile.TemporaryFile() as output:
        try:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=subprocess.STDOUT, start_new_session=True)
            outcome = f"exited {process.wait(timeout)}"
        except OSError as error:
            outcome = f"could not start: {argv[0]}: {error.strerror}"
        except subprocess.TimeoutExpired:
            outcome = f"timed out after {timeout:g}s and was killed"
            for number in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(process.pid, number)
                    process.wait(5)
                    break
                except (OSError, subprocess.TimeoutExpired):
                    pass
        output.seek(0)
        for line in output.read()[-65536:].decode(errors="replace").splitlines():
            LOG.info("pre-stop hook: %s", line)
    LOG.info("pre-stop hook %s; powering off", outcome)
    return outcome


def power_off(commands: list[list[str]]) -> bool:
    """Try each poweroff command in order until one exits 0."""
    for command in commands:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
            error = f"exit {done.returncode}: {first_line(done.stderr + done.stdout)}"
            if done.returncode == 0:
                LOG.info("poweroff requested with %s", " ".join(command))
                return True
        except (OSError, subprocess.TimeoutExpired) as exception:
            error = str(exception)
        LOG.error("poweroff command %s failed: %s", " ".join(command), error)
    return False


def run_once(config: dict, clock, run, run_hook=run_pre_stop_hook, poweroff=power_off,
             dry_run: bool = False) -> int:
    """Sample, decide, log, save the state, and stop the box once it has been idle long enough.

    Return the exit status: 1 when the state cannot be saved or every poweroff failed. A box
    whose state cannot be saved never stops, because its idle time could be wrong. After a
    failed poweroff the next run tries again.
    """
    state = load_state(config["state_file"])
    samples = collect(config, run)
    new_state, stop = decide(clock(), samples, config, state)
    report(config.get("activity"), new_state, state, stop and not dry_run)
    LOG.info("%s", describe(new_state, stop, config))
    if not save_state(config["state_file"], new_state):
        return 1
    if stop and not dry_run:
        run_hook(config["pre_stop"])
        return 0 if poweroff(config["poweroff_commands"]) else 1
    return 0


def system_clock() -> tuple[float, float]:
    return time.time(), time.monotonic()


def main(argv: list[str]) -> int:
    """Run once as `agent.py [--config PATH] [--dry-run]`; return the exit status.

    The configuration comes whole from envctl (autostop_config in config.py), so the agent
    keeps no defaults. Exit status 2 means it is unreadable or lacks state_file or signals.
    """
    path = argv[argv.index("--config") + 1] if "--config" in argv else "/etc/envctl/autostop.json"
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(message)s")
    try:
        with open(path) as handle:
            config = json.load(handle)
        if not {"state_file", "signals"} <= set(config):
            raise ValueError("state_file or signals is missing")
    except (OSError, ValueError, TypeError) as error:
        LOG.error("invalid configuration %s: %s", path, error)
        return 2
    # Test hook: a fixed clock, so that a test can replay an hour in a few runs.
    fake_now = os.environ.get("ENVCTL_AUTOSTOP_FAKE_NOW")
    clock = system_clock
    if fake_now:
        LOG.warning("test hook: the clock is fixed at %s", fake_now)
        clock = lambda: (float(fake_now),) * 2  # noqa: E731
    try:
        return run_once(config, clock, run_command, dry_run="--dry-run" in argv)
    except Exception:  # noqa: BLE001 - log a bug with its traceback in the agent's own log
        LOG.exception("autostop run failed")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
