"""envctl logs: the setup log over ssh, and in the sandbox the recorded file or moto's console.

The sandbox tests launch instances with boto3 on moto. The ssh tests point the project at moto
through envctl.yaml's endpoints, as for a real cloud, and put a stand-in `ssh` first on PATH.
It records its arguments and runs the remote command with sh on this machine, in a folder that
takes the place of the box's root (ENVCTL_ROOT), so no sshd is needed. What runs there is the
command envctl built, unchanged.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from instance_support import BY_ID_LINK, VOLUME_ID, run_user_data
from moto_instances import run_instance

from envctl.cli.main import cli
from envctl.definitions.loader import load_project
from envctl.instance import render_user_data
from envctl.sandbox import Sandbox
from envctl.sandbox.record import write_record
from envctl.setup_logs import last_lines, parse_status, remote_script, sandbox_box_root

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAME = "whisper"
# moto's GetConsoleOutput returns this sample for every instance (moto/ec2/responses/general.py).
MOTO_CONSOLE_START = "Linux version 2.6.16-xenU"
LOG_TEXT = "step 1 of 2: pip install\nquote ' \" $(touch pwned) `x` {{ y }}\nstep 2 of 2: done\n"
STAND_IN_SSH = """\
#!/bin/sh
printf '%s\\n' "$@" > {record}
for last; do :; done
echo 'a line from a shell startup file'
ENVCTL_ROOT={box} exec sh -c "$last"
"""


@pytest.fixture(autouse=True)
def home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The empty HOME from tests/conftest.py, and no sandbox chosen by the environment."""
    monkeypatch.delenv("ENVCTL_SANDBOX", raising=False)
    return home


@pytest.fixture
def project(tmp_path: Path, fresh_cloud: Sandbox) -> Path:
    """A copy of the examples on an empty cloud, where `envctl --sandbox` finds the sandbox."""
    root = tmp_path / "project"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".envctl", "cdktf.out"))
    write_record(root, fresh_cloud)
    return root


def launch(sandbox: Sandbox, root: Path, stopped: bool = False) -> str:
    """Run the environment's instance on moto, tagged as envctl tags it; return its id."""
    return run_instance(sandbox, load_project(root).environment(NAME), stopped=stopped)


def envctl(root: Path, *args: str, env: dict[str, str | None] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--project", str(root), *args], env=env)


def aim_at_moto(root: Path, sandbox: Sandbox) -> dict[str, str | None]:
    """Point the project's EC2 endpoint at moto, for commands run as on a real cloud."""
    settings = root / "envctl.yaml"
    endpoint = sandbox.aws_endpoint
    settings.write_text(settings.read_text() + f"\naws:\n  endpoints:\n    ec2: {endpoint}\n")
    return {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_CONFIG_FILE": str(root / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-aws-credentials"),
        "AWS_PROFILE": None,
    }


def stand_in_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, box: Path) -> Path:
    """Put the stand-in ssh first on PATH; return the file where it records its arguments."""
    folder = tmp_path / "bin"
    folder.mkdir()
    record = tmp_path / "ssh-arguments"
    program = folder / "ssh"
    program.write_text(STAND_IN_SSH.format(record=record, box=box))
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
    return record


def write_box_log(box: Path, text: str, status: str | None = None) -> None:
    log = box / "data/.envctl/logs/setup.log"
    log.parent.mkdir(parents=True)
    log.write_text(text)
    if status is not None:
        (box / "var/lib/envctl").mkdir(parents=True)
        (box / "var/lib/envctl/status").write_text(status)


class TestSandbox:
    def test_console_output_labelled_as_moto_sample(self, project: Path, fresh_cloud: Sandbox):
        launch(fresh_cloud, project)

        result = envctl(project, "logs", NAME, "--sandbox")

        assert result.exit_code == 0, result.stderr
        assert MOTO_CONSOLE_START in result.stdout
        assert "no machine ran the boot or the setup script" in result.stderr
        assert "not this environment's" in result.stderr

    def test_recorded_boot_log_shown(
        self, project: Path, fresh_cloud: Sandbox, loop_device: str
    ):
        instance_id = launch(fresh_cloud, project)
        box = sandbox_box_root(project, instance_id)
        box.mkdir(parents=True)
        by_id = box / "dev/disk/by-id"
        by_id.mkdir(parents=True)
        (by_id / BY_ID_LINK).symlink_to(loop_device)
        spec = load_project(project).environment(NAME)
        failing = spec.model_copy(update={
            "repos": (), "autostop_minutes": None,
            "setup": "echo 'installing whisper'\nexit 4\n",
        })
        user_data = render_user_data(failing, volume_id=VOLUME_ID)
        boot = run_user_data(user_data, box, ENVCTL_SETUP_ATTEMPTS="1")
        assert boot.returncode == 1, boot.stdout + boot.stderr

        result = envctl(project, "logs", NAME, "--sandbox")

        assert result.exit_code == 0, result.stderr
        assert "installing whisper\n" in result.stdout
        assert "setup: gave up after 1 attempts" in result.stdout
        assert MOTO_CONSOLE_START not in result.stdout
        assert "boot: failed, failed steps: setup" in result.stderr
        assert "recorded on this machine, not on a box" in result.stderr

    def test_console_flag_json(self, project: Path, fresh_cloud: Sandbox):
        instance_id = launch(fresh_cloud, project)

        result = envctl(project, "--output", "json", "logs", NAME, "--sandbox", "--console")

        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["instance_id"] == instance_id
        assert data["log"] == "console"
        assert data["text"].startswith(MOTO_CONSOLE_START)
        assert "same fixed sample" in data["notes"][0]

    def test_follow_rejected(self, project: Path, fresh_cloud: Sandbox):
        launch(fresh_cloud, project)

        result = envctl(project, "logs", NAME, "--sandbox", "--follow")

        assert result.exit_code == 1
        assert result.stderr == (
            "error: --follow needs ssh to a real box, and the sandbox has none; drop --follow\n")


class TestErrors:
    def test_unknown_environment(self, project: Path):
        result = envctl(project, "logs", "whispr", "--sandbox")

        assert result.exit_code == 1
        assert len(result.stderr.splitlines()) == 1
        assert "no environment named 'whispr'" in result.stderr
        assert "did you mean 'whisper'?" in result.stderr

    def test_not_applied(self, project: Path):
        result = envctl(project, "logs", NAME, "--sandbox")

        assert result.exit_code == 1
        assert result.stderr == (
            "error: whisper: no instance to read logs from; create it with "
            "`envctl apply whisper`\n")

    def test_sandbox_not_running(self, tmp_path: Path):
        root = tmp_path / "project"
        shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".envctl", "cdktf.out"))

        result = envctl(root, "logs", NAME, "--sandbox")

        assert result.exit_code == 1
        assert "run `envctl sandbox up` first" in result.stderr
        assert len(result.stderr.splitlines()) == 1


class TestOverSsh:
    def test_reads_log_and_status(
        self, project: Path, fresh_cloud: Sandbox, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ):
        launch(fresh_cloud, project)
        box = tmp_path / "box"
        write_box_log(box, LOG_TEXT, "state=ok\nfailed_steps=\nupdated=2026-12-04T15:00:00Z\n")
        record = stand_in_ssh(tmp_path, monkeypatch, box)

        result = envctl(project, "logs", NAME, env=aim_at_moto(project, fresh_cloud))

        assert result.exit_code == 0, result.stderr
        assert result.stdout == LOG_TEXT
        assert "boot: ok, failed steps: none, updated 2026-12-04T15:00:00Z" in result.stderr
        arguments = record.read_text().splitlines()
        assert "envctl-whisper" in arguments
        assert "SetEnv=ENVCTL_PROBE=1" in arguments
        assert "-T" in arguments
        assert not (tmp_path / "pwned").exists()

    def test_lines_and_personal_log(
        self, project: Path, fresh_cloud: Sandbox, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ):
        launch(fresh_cloud, project)
        box = tmp_path / "box"
        personal = box / "data/.envctl/logs/personal-setup.log"
        personal.parent.mkdir(parents=True)
        personal.write_text("".join(f"line {n}\n" for n in range(1, 11)))
        stand_in_ssh(tmp_path, monkeypatch, box)

        result = envctl(project, "logs", NAME, "--log", "personal-setup", "-n", "2",
                        env=aim_at_moto(project, fresh_cloud))

        assert result.exit_code == 0, result.stderr
        assert result.stdout == "line 9\nline 10\n"

    def test_missing_log_explained(
        self, project: Path, fresh_cloud: Sandbox, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ):
        launch(fresh_cloud, project)
        box = tmp_path / "box"
        (box / "var/lib/envctl").mkdir(parents=True)
        (box / "var/lib/envctl/status").write_text("state=failed\nfailed_steps=mount\n")
        stand_in_ssh(tmp_path, monkeypatch, box)

        result = envctl(project, "logs", NAME, env=aim_at_moto(project, fresh_cloud))

        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
        assert "no /data/.envctl/logs/setup.log yet (boot state failed, failed steps: mount)" \
            in result.stderr

    def test_ssh_failure_one_line(
        self, project: Path, fresh_cloud: Sandbox, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ):
        launch(fresh_cloud, project)
        folder = tmp_path / "bin"
        folder.mkdir()
        (folder / "ssh").write_text("#!/bin/sh\necho 'Connection refused' >&2\nexit 255\n")
        (folder / "ssh").chmod(0o755)
        monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")

        result = envctl(project, "logs", NAME, env=aim_at_moto(project, fresh_cloud))

        assert result.exit_code == 1
        assert len(result.stderr.splitlines()) == 1
        assert "(exit 255: Connection refused)" in result.stderr

    def test_stopped_box_rejected(self, project: Path, fresh_cloud: Sandbox):
        launch(fresh_cloud, project, stopped=True)

        result = envctl(project, "logs", NAME, env=aim_at_moto(project, fresh_cloud))

        assert result.exit_code == 1
        assert "whisper is stopped" in result.stderr
        assert "`envctl start whisper`" in result.stderr
        assert len(result.stderr.splitlines()) == 1


class TestRemoteScript:
    def test_runs_in_sh_with_status_first(self, tmp_path: Path):
        write_box_log(tmp_path, "a\nb\nc\n", "state=running\n")

        completed = subprocess.run(
            ["sh", "-c", remote_script("/data/.envctl/logs/setup.log", 2)],
            env={"PATH": "/usr/bin:/bin", "ENVCTL_ROOT": str(tmp_path)},
            capture_output=True, text=True,
        )

        assert completed.returncode == 0, completed.stderr
        status_line, _, text = completed.stdout.partition("\n")
        assert text == "b\nc\n"
        assert status_line == "envctl-status:c3RhdGU9cnVubmluZwo="

    def test_parse_status_and_last_lines(self):
        assert parse_status("state=ok\nfailed_steps=\nlogs=/d=x\n") == {
            "state": "ok", "failed_steps": "", "logs": "/d=x"}
        assert last_lines("1\n2\n3", 2) == "2\n3"


def test_logs_skips_cdk_imports(project: Path, fresh_cloud: Sandbox):
    launch(fresh_cloud, project)
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from envctl.cli.main import cli\n"
        f"result = CliRunner().invoke(cli, ['--project', {str(project)!r}, 'logs', "
        f"{NAME!r}, '--sandbox'])\n"
        "print('exit=' + str(result.exit_code))\n"
        "heavy = ('cdktn', 'cdktn_provider_aws', 'jsii', 'envctl.cdk')\n"
        "print('loaded=' + ','.join(name for name in heavy if name in sys.modules))\n"
    )

    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                               check=True)

    assert "exit=0" in completed.stdout
    assert "loaded=\n" in completed.stdout
