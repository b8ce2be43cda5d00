"""Reading the personal layer back from user data as Terraform sends it (base64 of gzip)."""

from __future__ import annotations

import base64
import gzip

import pytest
from instance_support import VOLUME_ID, make_spec

from envctl.instance import PersonalLayer, render_user_data
from envctl.instance.deployed import personal_layer_of

LAYERS = [
    PersonalLayer("https://github.com/alice/dotfiles", "main", "#!/bin/bash\necho 'hi'\n"),
    PersonalLayer("https://github.com/alice/dotfiles", "v1.2"),
    PersonalLayer(setup="pip install --user rich\n"),
]


def as_sent(user_data: str) -> str:
    """The user data as the stack's base64gzip() hands it to EC2 and the state."""
    return base64.b64encode(gzip.compress(user_data.encode(), mtime=0)).decode()


@pytest.mark.parametrize("layer", LAYERS, ids=["both", "dotfiles", "setup"])
def test_layer_reads_back_as_rendered(layer: PersonalLayer) -> None:
    user_data = render_user_data(make_spec(), layer, volume_id=VOLUME_ID)

    back = personal_layer_of(as_sent(user_data))

    assert back == layer
    assert render_user_data(make_spec(), back, volume_id=VOLUME_ID) == user_data


def test_user_data_without_a_layer_has_none() -> None:
    assert personal_layer_of(as_sent(render_user_data(make_spec(), volume_id=VOLUME_ID))) is None


@pytest.mark.parametrize("text", ["", "not base64!", base64.b64encode(b"plain").decode(),
                                  as_sent("#!/bin/bash\necho someone else's script\n")],
                         ids=["empty", "not-base64", "not-gzip", "other-script"])
def test_foreign_user_data_has_no_layer(text: str) -> None:
    assert personal_layer_of(text) is None
