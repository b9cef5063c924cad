"""The action server as `make run` and compose start it: rasa_sdk's app, on 127.0.0.1 by
default, answering only the Rasa server.

`rasa run actions` listens on every interface and runs any action for any tracker it is
sent, so whoever reaches its port can forge a tracker with a bound customer's sender id
and read their data. This server listens on `ACTION_SERVER_HOST` (default 127.0.0.1) and
refuses every request but the health check unless it carries the token the Rasa server
sends (`Authorization: Bearer <ACTION_SERVER_TOKEN>`, added by `bot.runtime.action_guard`),
compared in constant time. No CORS: no browser page may call it.

    python -m bot.runtime.action_server [--host H] [--port 5055]

Imports rasa_sdk only (the action server image has no Rasa).
"""

from __future__ import annotations

import argparse
import hmac
import logging
from collections.abc import Sequence

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.infra.settings import action_server_token, get_settings

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health"})


def token_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries `token` (constant-time comparison)."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8"), token.encode("utf-8")
    )


def create_guarded_app(token: str, actions: str = "actions") -> Sanic:
    """rasa_sdk's action server app, without CORS, behind the token check."""
    from rasa_sdk.endpoint import create_app

    if not token:
        raise ValueError("the action server needs a token")
    app = create_app(actions, cors_origins=None)

    @app.middleware("request")
    async def only_the_rasa_server(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        if not token_matches(request.headers.get("authorization"), token):
            logger.warning("action server: request without the token refused (%s)", request.ip)
            return response.json({"error": "unauthorized"}, status=401)
        return None

    return app


def main(argv: Sequence[str] | None = None) -> int:
    from rasa_sdk import utils

    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="python -m bot.runtime.action_server", description=__doc__
    )
    parser.add_argument("--host", default=settings.action_server_host)
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args(argv)
    utils.configure_colored_logging(settings.log_level)
    utils.update_sanic_log_level()
    app = create_guarded_app(action_server_token(settings), args.actions)
    logger.info("Action endpoint is up and running on %s:%s (token required)", args.host, args.port)
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
