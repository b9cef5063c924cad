"""The Rasa server as `make run` and compose start it: `rasa run` in this process, with the
JWT secret from the environment instead of the command line, and two guards.

    python -m bot.runtime.rasa_server --enable-api --port 5005 --endpoints endpoints.yml ...

Takes `rasa run`'s options; `--jwt-secret` is refused (a command line is visible to every
local user): the secret is `RASA_JWT_SECRET` or the file `RASA_JWT_SECRET_FILE` names,
handed to Rasa's own parser inside this process. `--cors` is refused too: the web chat
page is served by the same server and needs none, and a wildcard would let any page
opened in a browser here talk to the REST channel and read the answers.

What Rasa does per message is done with less (README, Speed), each giving Rasa's own
answers (a test beside each module checks them against Rasa's):
- DIET and TED are loaded without Rasa's one-step training (`bot.runtime.lean_models`:
  about 460 MB less);
- DIET's intents are computed in numpy (`bot.runtime.fast_diet`) and the text's count
  features without sklearn's `transform` (`bot.runtime.fast_count_vectors`);
- the prediction graph runs in a plain loop instead of through dask
  (`bot.runtime.graph_runner`);
- slots are copied without copyreg (`bot.runtime.slot_copy`), whether the domain is empty
  is worked out once (`bot.runtime.domain_checks`), and the rules that apply to dialogue
  states already seen are remembered (`bot.runtime.rule_lookup`);
- the conversation sent to the action server is written by ujson (`bot.runtime.fast_json`);
- once the model is loaded, what is alive is kept out of garbage collection
  (`freeze_loaded_objects`).

The guards, added to the app Rasa configures:
- a request to the HTTP API with a token that is not a valid HS256 JWT signed with the
  secret (malformed, `alg=none`, another key) gets 401; sanic-jwt lets some of those
  through as exceptions that Rasa answers with 500;
- no CORS headers for any origin.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.infra.settings import get_settings

logger = logging.getLogger(__name__)

JWT_METHOD = "HS256"
REFUSED_OPTIONS = ("--jwt-secret", "--jwt-private-key", "--cors", "--auth-token")
# Paths that never take a token: the channels' webhooks and the health check.
OPEN_PREFIXES = ("/webhooks/",)


def bearer_token(header: str | None) -> str | None:
    scheme, _, token = (header or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def token_is_valid(token: str | None, secret: str) -> bool:
    """Whether `token` is an HS256 JWT signed with `secret` (any decoding error: no)."""
    if not token:
        return False
    try:
        jwt.decode(token, secret, algorithms=[JWT_METHOD])
    except (jwt.PyJWTError, ValueError, TypeError):
        return False
    return True


def add_guards(app: Sanic, jwt_secret: str | None) -> Sanic:
    """Refuse malformed API tokens with 401 before Rasa sees them."""

    @app.middleware("request")
    async def refuse_bad_tokens(request: Request) -> HTTPResponse | None:
        if request.path.startswith(OPEN_PREFIXES):
            return None
        header = request.headers.get("authorization")
        if header is None and "token" not in request.args:
            return None  # Rasa answers 401 itself
        if jwt_secret and token_is_valid(bearer_token(header), jwt_secret):
            return None
        return response.json(
            {
                "version": "",
                "status": "failure",
                "message": "User is not authenticated.",
                "reason": "NotAuthenticated",
                "code": 401,
            },
            status=401,
        )

    return app


def rasa_arguments(args: Sequence[str], jwt_secret: str | None) -> list[str]:
    """`rasa run` arguments: `args` and, with the API enabled, the secret."""
    for arg in args:
        if arg.split("=", 1)[0] in REFUSED_OPTIONS:
            raise SystemExit(f"{arg.split('=', 1)[0]} is not accepted here (see the module doc)")
    arguments = ["run", *args]
    if "--enable-api" in args:
        if not jwt_secret:
            raise SystemExit("--enable-api needs RASA_JWT_SECRET (or RASA_JWT_SECRET_FILE)")
        arguments += [f"--jwt-secret={jwt_secret}", "--jwt-method", JWT_METHOD]
    return arguments


def release_freed_memory() -> bool:
    """Hand the heap memory freed so far back to the system (glibc's `malloc_trim`):
    loading the model leaves some 50 MB freed but held by the allocator (README, Speed).
    False where there is no glibc."""
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False


def freeze_loaded_objects(env: Mapping[str, str] = os.environ) -> int | None:
    """Move every object alive now (the loaded model, Rasa, TensorFlow's Python side:
    millions of objects) out of the garbage collector's reach (`gc.freeze`), unless
    `GC_FREEZE` says off; returns how many, or None when off.

    The collector's oldest generation otherwise walks all of them from time to time while
    a message waits: at concurrency 8, p99 was 340 to 406 ms without and 152 to 171 ms with
    (`make bench`, README Speed). They live as long as the process anyway."""
    if env.get("GC_FREEZE", "on").strip().lower() in {"0", "off", "false", "no"}:
        return None
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def add_memory_release(app: Sanic) -> Sanic:
    """Release the memory freed while the model loaded, once the server is up (Rasa loads
    the model before the server starts)."""

    async def release_after_loading(app: Sanic, loop: Any) -> None:
        released = release_freed_memory()
        logger.info("memory freed while loading the model returned to the system: %s", released)
        frozen = freeze_loaded_objects()
        logger.info("objects kept out of garbage collection after loading: %s", frozen)

    app.register_listener(release_after_loading, "after_server_start")
    return app


def install_guards(jwt_secret: str | None) -> None:
    """Wrap Rasa's `configure_app` so that the app it builds gets `add_guards` (and
    `add_memory_release`)."""
    import rasa.core.run

    original = rasa.core.run.configure_app
    if getattr(original, "_service_assistant_guard", False):
        return

    def configure_app(*args: Any, **kwargs: Any) -> Sanic:
        return add_memory_release(add_guards(original(*args, **kwargs), jwt_secret))

    configure_app._service_assistant_guard = True  # type: ignore[attr-defined]
    rasa.core.run.configure_app = configure_app


# Installed but never used by a serving Rasa: tensorflow 2.12 requires jax, and its TFLite
# converter imports jax when it can (74 MB per Rasa process, 0.7 s of start, README
# Speed); nothing here converts models. A None in sys.modules makes `import jax` fail
# with the ImportError TensorFlow expects when jax is absent.
UNUSED_MODULES = ("jax",)


def skip_unused_modules() -> None:
    """Make the modules in UNUSED_MODULES unimportable in this process (and its workers)."""
    for name in UNUSED_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> None:
    skip_unused_modules()
    from rasa.__main__ import main as rasa_main

    from bot.runtime import (
        domain_checks,
        fast_count_vectors,
        fast_diet,
        fast_json,
        graph_runner,
        lean_models,
        rule_lookup,
        slot_copy,
    )

    lean_models.install()
    if fast_diet.enabled():
        # DIET's intents in numpy, the same rankings (tests/e2e/test_fast_diet.py).
        fast_diet.install()
    if fast_count_vectors.enabled():
        # The text's count features without sklearn's transform, the same matrices
        # (tests/e2e/test_fast_count_vectors.py).
        fast_count_vectors.install()
    graph_runner.install()
    slot_copy.install()
    domain_checks.install()
    rule_lookup.install()
    fast_json.install()

    secret = get_settings().rasa_jwt_secret
    arguments = rasa_arguments(sys.argv[1:] if argv is None else argv, secret)
    install_guards(secret)
    # Only this process's copy of its arguments changes: /proc/<pid>/cmdline keeps the
    # command line it was started with, which holds no secret.
    sys.argv = ["rasa", *arguments]
    rasa_main()


if __name__ == "__main__":
    main()
