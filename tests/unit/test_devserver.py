"""The development server's Rasa command line and the tokens for its HTTP API."""

from __future__ import annotations

import os
import subprocess
import sys

import jwt
import pytest
from rasa.__main__ import create_argument_parser

from bot.infra.settings import PROJECT_ROOT, Settings
from bot.ops.devserver import (
    Servers,
    action_server_command,
    action_server_env,
    api_token,
    auth_headers,
    new_jwt_secret,
    rasa_server_command,
    rasa_server_env,
    secret_env,
)
from bot.runtime.rasa_server import rasa_arguments


def option(args: list[str], name: str) -> str:
    for index, arg in enumerate(args):
        if arg == name:
            return args[index + 1]
        if arg.startswith(f"{name}="):
            return arg.partition("=")[2]
    raise AssertionError(f"{name} not in {args}")


def test_the_http_api_is_enabled_on_localhost_with_no_secret_or_cors_on_the_command_line(
    tmp_path,
):
    args = rasa_server_command(5005, tmp_path / "endpoints.yml")
    assert args[1:3] == ["-m", "bot.runtime.rasa_server"]
    assert "--enable-api" in args
    assert option(args, "--interface") == "127.0.0.1"
    assert not any(arg.startswith(("--jwt-secret", "--auth-token", "--cors")) for arg in args)


@pytest.mark.parametrize(
    "secret", ["-starts-like-an-option-xxxxxxxxxxxx", "plain_secret_of_enough_length"]
)
def test_rasas_own_parser_reads_back_the_secret_from_the_environment(tmp_path, secret):
    args = rasa_server_command(5005, tmp_path / "endpoints.yml")
    parsed = create_argument_parser().parse_args(rasa_arguments(args[3:], secret))
    assert parsed.jwt_secret == secret
    assert parsed.jwt_method == "HS256"
    assert parsed.interface == "127.0.0.1"
    assert parsed.cors is None


@pytest.mark.parametrize("refused", ["--jwt-secret=abc", "--cors", "--auth-token"])
def test_secrets_and_cors_on_the_command_line_are_refused(refused):
    with pytest.raises(SystemExit):
        rasa_arguments(["--enable-api", refused], "secret")


def test_the_action_server_listens_on_localhost_and_gets_its_token_from_the_environment():
    args = action_server_command(5055)
    assert args[1:3] == ["-m", "bot.runtime.action_server"]
    assert option(args, "--host") == "127.0.0.1"
    assert secret_env("jwt", "token") == {"RASA_JWT_SECRET": "jwt", "ACTION_SERVER_TOKEN": "token"}


def test_each_run_has_its_own_secret_unless_configured():
    assert Servers("", "").jwt_secret != Servers("", "").jwt_secret
    assert len(new_jwt_secret()) >= 32


def test_the_token_is_an_admin_token_signed_with_the_secret():
    secret = new_jwt_secret()
    token = api_token(secret)
    payload = jwt.decode(token, secret, algorithms=["HS256"])
    assert payload["user"]["role"] == "admin"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, new_jwt_secret(), algorithms=["HS256"])
    assert auth_headers(secret) == {"Authorization": f"Bearer {token}"}


def test_the_secret_is_read_from_the_environment_and_not_shown():
    settings = Settings.from_env({"RASA_JWT_SECRET": " the-secret "})
    assert settings.rasa_jwt_secret == "the-secret"
    assert "the-secret" not in repr(settings)
    assert Settings.from_env({}).rasa_jwt_secret is None


@pytest.mark.parametrize("secret", ["", "configured-secret-of-enough-length"])
def test_api_token_command(secret):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_JWT_SECRET": secret}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "api-token"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if not secret:
        assert result.returncode == 2
        assert "RASA_JWT_SECRET" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        payload = jwt.decode(result.stdout.strip(), secret, algorithms=["HS256"])
        assert payload["user"]["role"] == "admin"


def test_tensorflow_threads_are_set_for_rasa_only():
    env = {"PATH": "/bin", "TF_INTRA_OP_PARALLELISM_THREADS": "4"}
    rasa_env = rasa_server_env(env)
    assert rasa_env["TF_INTRA_OP_PARALLELISM_THREADS"] == "4"  # the operator's choice wins
    assert rasa_env["TF_INTER_OP_PARALLELISM_THREADS"] == "1"
    assert action_server_env(rasa_env) == {"PATH": "/bin"}


def test_the_rasa_server_does_not_import_jax_which_only_tflite_conversion_would_use():
    code = (
        "from bot.runtime.rasa_server import skip_unused_modules\n"
        "skip_unused_modules()\n"
        "try:\n"
        "    import jax\n"
        "except ImportError:\n"
        "    print('refused')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "refused", result.stderr


def test_the_memory_freed_while_loading_the_model_is_released_once_the_server_is_up():
    from sanic import Sanic

    from bot.runtime.rasa_server import add_memory_release, release_freed_memory

    app = add_memory_release(Sanic("memory_release_test"))
    # Sanic 21.12 keeps a server listener as a signal on "server.init.*"
    listeners = [
        route.handler.keywords["listener"].__name__
        for route in app.signal_router.routes
        if route.path.startswith("server.init")
    ]
    assert listeners == ["release_after_loading"]
    assert release_freed_memory() in (True, False)  # glibc here; False where there is none


def test_objects_alive_after_loading_are_kept_out_of_garbage_collection():
    import gc

    from bot.runtime.rasa_server import freeze_loaded_objects

    try:
        assert freeze_loaded_objects({"GC_FREEZE": "off"}) is None
        kept = freeze_loaded_objects({})
        assert kept is not None and kept == gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
