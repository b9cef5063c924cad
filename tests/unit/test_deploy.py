"""The deployment's contract, read from docker-compose.yml, the Dockerfiles, the endpoints
file and .env.example (there is no Docker daemon in the tests): which services exist, how
they wait for each other, what is published, where the secrets come from."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.infra.settings import PROJECT_ROOT, Settings
from bot.ops.healthcheck import main as healthcheck
from tests.compose import (
    COMPOSE_FILE,
    REQUIRED_SECRETS,
    InterpolationError,
    command_of,
    environment_of,
    full_env,
    interpolate,
    load_compose,
    references,
)

SERVICES = {"postgres", "redis", "rasa", "actions", "telegram", "dashboard", "migrate"}
ONE_SHOT = {"migrate"}
PROJECT_SERVICES = {"rasa", "actions", "telegram", "dashboard", "migrate"}


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml as compose sees it with every required secret set."""
    return load_compose()


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


# The interpolation check.


@pytest.mark.parametrize(
    "text",
    ["${NAME", "${1NAME}", "$NAME", "${NAME:x}", "${NAME:?a ${NESTED}}", "${}", "a $ b"],
)
def test_the_interpolation_parser_refuses_malformed_references(text):
    with pytest.raises(InterpolationError):
        interpolate(text, {"NAME": "v"})


def test_the_interpolation_parser_follows_compose():
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("$${SET} ${SET} ${UNSET}", env) == "${SET} v "
    assert interpolate("${EMPTY:-d} ${EMPTY-d} ${UNSET-d}", env) == "d  d"
    assert interpolate("${SET:+yes} ${EMPTY:+yes} ${EMPTY+yes}", env) == "yes  yes"
    with pytest.raises(InterpolationError, match="EMPTY: needed"):
        interpolate("${EMPTY:?needed}", env)


def test_every_reference_in_the_compose_file_is_well_formed(compose_text):
    assert references(compose_text)  # raises on the first malformed one
    # Container-side variables are written $$NAME, so compose leaves them to the shell.
    assert "$$SEED_DEMO" in compose_text


def test_required_secrets_have_no_default_and_stop_compose_with_a_message(compose_text):
    used = {name for name, _, _ in references(compose_text)}
    assert used >= REQUIRED_SECRETS
    for name, operator, argument in references(compose_text):
        if name in REQUIRED_SECRETS:
            assert operator == ":?" and argument.strip(), f"${{{name}}} must be ${{{name}:?...}}"
    for secret in REQUIRED_SECRETS:
        env = {k: v for k, v in full_env().items() if k != secret}
        with pytest.raises(InterpolationError, match=secret):
            interpolate(compose_text, env)
        with pytest.raises(InterpolationError, match=secret):
            interpolate(compose_text, {**env, secret: ""})


def test_every_variable_compose_reads_is_documented_in_env_example(compose_text):
    example = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    used = {name for name, _, _ in references(compose_text)}
    assert used - documented == set()


# Services, health checks and start-up order.


def test_every_service_is_there(services):
    assert set(services) >= SERVICES


def test_every_long_running_service_has_a_health_check_and_restarts(services):
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no"
            assert "healthcheck" not in service
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, name
        assert service.get("restart") == "unless-stopped", name


def test_services_wait_for_what_they_need(services):
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for target, rule in depends.items():
            condition = rule["condition"]
            if target in ONE_SHOT:
                assert condition == "service_completed_successfully", (name, target)
            else:
                assert condition == "service_healthy", (name, target)
                assert "healthcheck" in services[target], target

    def needs(name: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in services[name].get("depends_on", {}).items()}

    assert needs("migrate") == {"postgres": "service_healthy"}
    for name in ("actions", "dashboard", "rasa"):
        assert needs(name)["migrate"] == "service_completed_successfully"
        assert needs(name)["postgres"] == "service_healthy"
    assert needs("rasa")["redis"] == "service_healthy"
    assert needs("rasa")["actions"] == "service_healthy"
    assert needs("telegram") == {"rasa": "service_healthy"}


def test_the_telegram_bridge_starts_only_with_its_profile(services):
    assert services["telegram"]["profiles"] == ["telegram"]
    assert command_of(services["telegram"]) == "python -m bot telegram"
    assert all("profiles" not in services[name] for name in SERVICES - {"telegram"})


def test_the_migration_seeds_policies_and_demo_data_only_on_request(services):
    command = command_of(services["migrate"])
    assert command.index("python -m bot db upgrade") < command.index("python -m bot db seed")
    assert 'if [ "$SEED_DEMO" = 1 ]; then python -m bot db seed --demo; else' in command
    assert environment_of(services["migrate"])["SEED_DEMO"] == "0"


def test_the_health_checks_probe_the_ports_the_services_listen_on(services):
    def probe(name: str) -> str:
        return " ".join(services[name]["healthcheck"]["test"])

    assert "http://localhost:5055/health" in probe("actions")
    assert "--port 5055" in command_of(services["actions"])
    assert "http://localhost:5005/" in probe("rasa") and "--port 5005" in command_of(
        services["rasa"]
    )
    assert "http://localhost:8080/health" in probe("dashboard")
    assert "--port 8080" in command_of(services["dashboard"])
    assert "pg_isready" in probe("postgres") and "redis-cli ping" in probe("redis")


# What is published, and how the Rasa HTTP API is protected.


def published(service: Mapping[str, Any]) -> list[str]:
    return [str(port) for port in service.get("ports", [])]


def test_the_action_server_and_the_data_stores_are_not_published(services):
    for name in ("actions", "postgres", "redis", "migrate"):
        assert published(services[name]) == [], name


def test_published_ports_listen_on_localhost_only(services):
    for name, service in services.items():
        for port in published(service):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on every address"
    assert published(services["rasa"]) == ["127.0.0.1:5005:5005"]
    assert published(services["dashboard"]) == ["127.0.0.1:8080:8080"]


def test_the_rasa_http_api_requires_a_jwt(services, compose_text):
    command = command_of(services["rasa"])
    assert "--enable-api" in command and "bot.runtime.rasa_server" in command
    # bot.runtime.rasa_server reads the secret from its environment: never on a command line.
    assert "JWT" not in command and "--auth-token" not in command and "--cors" not in command
    assert environment_of(services["rasa"])["RASA_JWT_SECRET"] == "secret-rasa_jwt_secret"
    assert "${RASA_JWT_SECRET:?" in compose_text


def test_the_rest_channel_admits_only_localhost_and_the_compose_network(services, compose):
    allowed = environment_of(services["rasa"])["REST_ALLOWED_NETWORKS"].split(",")
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert allowed == ["127.0.0.0/8", "::1/128", subnet]
    assert Settings.from_env({"REST_ALLOWED_NETWORKS": ",".join(allowed)}).rest_allowed_networks


# Images.


def from_lines(dockerfile: Path) -> list[str]:
    return re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(encoding="utf-8"), re.MULTILINE)


def pinned(package: str) -> str:
    text = (PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(package)}==(\S+)$", text, flags=re.MULTILINE)
    assert match, package
    return match.group(1)


DEFAULT_BASE = "python:3.10-slim-bookworm"


def test_the_images_build_on_a_python_3_10_base_given_as_a_build_argument(services):
    images = {name: s["build"]["dockerfile"] for name, s in services.items() if "build" in s}
    assert images == {
        "rasa": "docker/rasa.Dockerfile",
        "actions": "docker/actions.Dockerfile",
        "migrate": "docker/actions.Dockerfile",
        "dashboard": "docker/actions.Dockerfile",
        "telegram": "docker/actions.Dockerfile",
    }
    for name, service in services.items():
        if "build" in service:
            # PYTHON_IMAGE (a registry mirror, or make compose-test's local image) or the default.
            assert service["build"]["args"] == {"BASE_IMAGE": DEFAULT_BASE}, name
    for dockerfile in ("docker/rasa.Dockerfile", "docker/actions.Dockerfile"):
        text = (PROJECT_ROOT / dockerfile).read_text(encoding="utf-8")
        assert f"ARG BASE_IMAGE={DEFAULT_BASE}" in text.splitlines()
        # Multi-stage: what the build needs (pip, the build context) stays in the first stage.
        stages = from_lines(PROJECT_ROOT / dockerfile)
        assert stages[0] == stages[-1] == "${BASE_IMAGE}" and len(stages) > 1
        final = text.split("\nFROM ${BASE_IMAGE}\n")[-1]
        assert "pip install" not in final and "COPY . " not in final
        assert "COPY --from=build /opt/venv /opt/venv" in final
    assert pinned("rasa") == "3.6.21" and pinned("rasa-sdk") == "3.6.2"
    assert not (PROJECT_ROOT / "Dockerfile").exists()


def test_the_data_stores_images_can_be_named_and_default_to_the_official_ones(services):
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    named = load_compose({**full_env(), "POSTGRES_IMAGE": "mirror/pg:15", "REDIS_IMAGE": "m/r:7"})
    assert named["services"]["postgres"]["image"] == "mirror/pg:15"
    assert named["services"]["redis"]["image"] == "m/r:7"


@pytest.mark.parametrize("dockerfile", ["docker/rasa.Dockerfile", "docker/actions.Dockerfile"])
def test_the_images_run_as_a_non_root_user_with_the_tested_versions(dockerfile):
    text = (PROJECT_ROOT / dockerfile).read_text(encoding="utf-8")
    assert re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)[-1] == "1001"
    assert "-c /tmp/deps/requirements.txt" in text and "pip check" in text
    assert "docker/image_requirements.py" in text
    assert "sys.version_info[:2] == (3, 10)" in text


def test_the_rasa_image_keeps_a_model_trained_on_its_data_or_trains_one(services):
    text = (PROJECT_ROOT / "docker/rasa.Dockerfile").read_text(encoding="utf-8")
    assert "rasa train --fixed-model-name service-assistant --out models" in text
    assert "python docker/training_fingerprint.py" in text
    assert "cat models/service-assistant.fingerprint" in text
    assert "--model models/service-assistant.tar.gz" in command_of(services["rasa"])
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "MODEL_FINGERPRINT := models/service-assistant.fingerprint" in makefile
    assert "docker/training_fingerprint.py > $@" in makefile


def test_the_training_fingerprint_follows_the_training_files(tmp_path):
    sys.path.insert(0, str(PROJECT_ROOT / "docker"))
    try:
        from training_fingerprint import FOLDERS, fingerprint
    finally:
        sys.path.pop(0)
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    training_inputs = next(
        line for line in makefile.splitlines() if line.startswith("TRAINING_INPUTS")
    )
    assert all(folder in training_inputs for folder in FOLDERS)
    for name in ("config.yml", "domain.yml", "data/nlu/a.yml", "data/rules/r.yml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name, encoding="utf-8")
    for folder in FOLDERS:
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    first = fingerprint(tmp_path)
    assert fingerprint(tmp_path) == first
    (tmp_path / "data/nlu/b.yml").write_text("new", encoding="utf-8")
    second = fingerprint(tmp_path)
    assert second != first
    (tmp_path / "data/nlu/b.yml").write_text("changed", encoding="utf-8")
    third = fingerprint(tmp_path)
    assert third != second
    (tmp_path / "data/demo.yml").write_text("not training data", encoding="utf-8")
    assert fingerprint(tmp_path) == third


def test_the_build_context_leaves_out_secrets_and_local_state():
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", ".git", "var", ".rasa", "tests"} <= set(ignored)
    # models/: only the model and its fingerprint go in.
    assert "models/*" in ignored
    assert {"!models/service-assistant.tar.gz", "!models/service-assistant.fingerprint"} <= set(
        ignored
    )


def test_the_image_requirements_are_the_runtime_part_of_requirements_in():
    sys.path.insert(0, str(PROJECT_ROOT / "docker"))
    try:
        from image_requirements import canonical, requirement_name, runtime_requirements
    finally:
        sys.path.pop(0)
    text = (PROJECT_ROOT / "requirements.in").read_text(encoding="utf-8")
    names = {requirement_name(line) for line in runtime_requirements(text, {"rasa"})}
    assert "rasa" not in names and "rasa-sdk" in names
    assert names.isdisjoint({"pytest", "ruff", "mypy", "selenium", "trio"})
    frozen = (PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8")
    pins = {requirement_name(line) for line in frozen.splitlines() if "==" in line}
    assert names <= pins  # every one has its tested version to be constrained to
    # Every package bot/ and actions/ import is installed by name, not by luck.
    # sanic: in the Rasa image, for its input channels; tensorflow: Rasa's own, imported only
    # by bot.runtime.lean_models, which runs in the Rasa server.
    provided = names | {"rasa", "sanic", "tensorflow"}
    missing = {dist for dist in map(canonical, _imported_distributions()) if dist not in provided}
    assert missing == set()


def _imported_distributions() -> set[str]:
    owners: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]  # parsed from the METADATA file on every access
        for file in dist.files or []:
            # A module file, or an extension module (ujson.cpython-310-x86_64-linux-gnu.so).
            top = file.parts[0].removesuffix(".py")
            if top.endswith((".so", ".pyd")):
                top = top.split(".")[0]
            if not top.endswith((".dist-info", ".data")):
                owners.setdefault(top, name)
    found: set[str] = set()
    for path in [
        *PROJECT_ROOT.joinpath("bot").rglob("*.py"),
        *PROJECT_ROOT.joinpath("actions").rglob("*.py"),
    ]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                else []
            )
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in {"bot", "actions"}:
                    found.add(owners[top])
    return found


def test_the_image_requirements_script_runs_with_the_standard_library_only():
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "docker/image_requirements.py",
            "requirements.in",
            "--without",
            "rasa",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert "rasa-sdk==3.6.2" in lines and not any(line.startswith("rasa==") for line in lines)


# The endpoints the Rasa service uses, and the settings the services read.


def test_the_rasa_service_uses_postgres_for_trackers_and_redis_for_locks(services):
    command = command_of(services["rasa"]).split()
    endpoints_file = PROJECT_ROOT / command[command.index("--endpoints") + 1]
    raw = endpoints_file.read_text(encoding="utf-8")
    endpoints = yaml.safe_load(raw)
    # Rasa's SQL store with its queries off the event loop (bot/infra/tracker_store.py).
    assert endpoints["tracker_store"]["type"] == "bot.infra.tracker_store.ThreadedSQLTrackerStore"
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["tracker_store"]["url"] == "postgres"
    # The project's Redis lock store (bot/infra/lock_store.py): Rasa's `redis` type is not atomic.
    assert endpoints["lock_store"]["type"] == "bot.infra.lock_store.AtomicRedisLockStore"
    assert endpoints["lock_store"]["url"] == "redis"
    assert endpoints["action_endpoint"]["url"] == "http://actions:5055/webhook"
    # Rasa fills in ${...} from its environment: the rasa service must provide each one.
    needed = set(re.findall(r"\$\{(\w+)\}", raw))
    assert needed == {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "REDIS_PASSWORD"}
    assert needed <= set(environment_of(services["rasa"]))
    assert {"postgres", "redis", "actions"} <= set(services)


def test_rasa_fills_the_endpoints_secrets_in_from_the_environment(monkeypatch):
    """Rasa replaces ${VAR} only in plain YAML scalars: a quoted "${POSTGRES_PASSWORD}" reached
    PostgreSQL as the literal text (found by make compose-test, not by the process test)."""
    from rasa.shared.utils.io import read_config_file

    names = ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "REDIS_PASSWORD")
    values = {name: f"value-of-{name.lower()}" for name in names}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    endpoints = read_config_file(str(PROJECT_ROOT / "endpoints.docker.yml"))
    assert endpoints["tracker_store"]["db"] == values["POSTGRES_DB"]
    assert endpoints["tracker_store"]["username"] == values["POSTGRES_USER"]
    assert endpoints["tracker_store"]["password"] == values["POSTGRES_PASSWORD"]
    assert endpoints["lock_store"]["password"] == values["REDIS_PASSWORD"]


@pytest.mark.parametrize("endpoints_file", ["endpoints.yml", "endpoints.docker.yml"])
def test_the_action_server_gets_the_domain_only_where_an_action_reads_it(endpoints_file):
    """Rasa sends its whole domain (58 KB of JSON) with every action call unless selective
    domain is on; a form validation reads the form's slots from it, so each one must ask."""
    import importlib
    import inspect
    import pkgutil

    from rasa_sdk.forms import FormValidationAction

    import actions

    endpoints = yaml.safe_load((PROJECT_ROOT / endpoints_file).read_text(encoding="utf-8"))
    assert endpoints["action_endpoint"]["enable_selective_domain"] is True
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    asking = {
        name
        for entry in domain["actions"]
        if isinstance(entry, dict)
        for name, options in entry.items()
        if (options or {}).get("send_domain")
    }
    validations: set[str] = set()
    for info in pkgutil.iter_modules(actions.__path__):
        module = importlib.import_module(f"actions.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, FormValidationAction)
                and cls.__module__ == module.__name__
                and not inspect.isabstract(cls)
            ):
                action: FormValidationAction = cls()  # rasa_sdk has no type hints
                validations.add(action.name())
    assert validations, "no form validation actions found in the actions package"
    assert asking == validations


class RecordingEnv(dict[str, str]):
    """An environment that remembers which variables were read."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)


# Variables the services get that bot/infra/settings.py does not read, and who reads them.
READ_ELSEWHERE = {
    "POSTGRES_DB": "endpoints.docker.yml",
    "POSTGRES_USER": "endpoints.docker.yml",
    "POSTGRES_PASSWORD": "endpoints.docker.yml",
    "REDIS_PASSWORD": "endpoints.docker.yml",
    "SEED_DEMO": "the migrate service's command",
    "TF_INTRA_OP_PARALLELISM_THREADS": "TensorFlow, in the rasa service",
    "TF_INTER_OP_PARALLELISM_THREADS": "TensorFlow, in the rasa service",
}


def test_every_setting_passed_to_the_project_is_read_by_bot_settings(services):
    for name in PROJECT_SERVICES:
        env = environment_of(services[name])
        recording = RecordingEnv(env)
        settings = Settings.from_env(recording)
        unread = set(env) - recording.read
        assert unread <= set(READ_ELSEWHERE), f"{name}: nobody reads {unread - set(READ_ELSEWHERE)}"
        assert settings.redis_url == "redis://:secret-redis_password@redis:6379/2"
        assert settings.database_url.startswith("postgresql://service:secret-postgres_password@")
    endpoints = (PROJECT_ROOT / "endpoints.docker.yml").read_text(encoding="utf-8")
    for variable, reader in READ_ELSEWHERE.items():
        if reader == "endpoints.docker.yml":
            assert f"${{{variable}}}" in endpoints
        elif reader.startswith("TensorFlow"):
            # Rasa reads them at start; the action server would load TensorFlow for them.
            assert variable in environment_of(services["rasa"])
            assert variable not in environment_of(services["actions"])
        else:
            service = "rasa" if "rasa" in reader else "migrate"
            assert f"${variable}" in command_of(services[service])


def test_the_dashboard_and_bridges_listen_inside_the_network(services):
    assert "--host 0.0.0.0" in command_of(services["dashboard"])
    assert environment_of(services["dashboard"])["ADMIN_SECRET_KEY"] == "secret-admin_secret_key"
    assert environment_of(services["telegram"])["TELEGRAM_WEBHOOK_LISTEN"] == "0.0.0.0"
    for name in PROJECT_SERVICES:
        env = environment_of(services[name])
        assert env["RASA_SERVER_URL"] == "http://rasa:5005"
        assert env["ACTION_SERVER_URL"] == "http://actions:5055/webhook"


# The health-check command the containers run.


@pytest.fixture()
def http_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_the_health_check_passes_only_when_every_url_answers_2xx(http_server, capsys):
    assert healthcheck([f"{http_server}/health"]) == 0
    assert healthcheck([f"{http_server}/health", f"{http_server}/down"]) == 1
    assert "HTTP 503" in capsys.readouterr().err
    assert healthcheck(["http://127.0.0.1:1/health", "--timeout", "1"]) == 1
