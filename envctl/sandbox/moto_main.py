"""Run moto's server on 127.0.0.1 with the sandbox images and SSM public parameters.

Usage: python -m envctl.sandbox.moto_main --port PORT

Started by envctl.sandbox.processes as a background process. It serves moto's own WSGI app
(the one `moto_server` runs) and re-inserts the public parameters after every
POST /moto-api/reset, because a reset drops every SSM backend.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from envctl.sandbox.record import HOST
from envctl.sandbox.seeding import amis_path, seed_public_parameters

log = logging.getLogger("envctl.sandbox.moto")

RESET_PATH = "/moto-api/reset"


class ReseedOnReset:
    """WSGI middleware that seeds the public parameters again after moto resets its state."""

    def __init__(self, app: Callable[..., Iterable[bytes]], seed: Callable[[], None]):
        self.app = app
        self.seed = seed

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # moto's Flask app handles the request before it returns the body, so the reset is
        # complete by the time the call returns.
        response = self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") == RESET_PATH:
            self.seed()
            log.info("moto state reset; public parameters seeded again")
        return response


def serve(port: int) -> None:
    """Seed moto and serve it on 127.0.0.1:port until the process is stopped."""
    # moto reads MOTO_AMIS_PATH when moto.ec2 is first imported, so set it before any import.
    os.environ["MOTO_AMIS_PATH"] = str(amis_path())
    os.environ["MOTO_PORT"] = str(port)
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from envctl.sandbox.moto_fixes import apply_moto_fixes

    apply_moto_fixes()

    def seed() -> None:
        seed_public_parameters(DEFAULT_ACCOUNT_ID)

    seed()
    app = ReseedOnReset(DomainDispatcherApplication(create_backend_app), seed)
    server = make_server(HOST, port, app, threaded=True, request_handler=MotoRequestHandler)
    log.info("moto serving on http://%s:%d", HOST, port)
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m envctl.sandbox.moto_main")
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(args.port)


if __name__ == "__main__":
    main()
