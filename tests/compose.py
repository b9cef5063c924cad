"""docker-compose.yml read as `docker compose` reads it, for the deployment tests."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.infra.settings import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
REQUIRED_SECRETS = {
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "RASA_JWT_SECRET",
    "ADMIN_SECRET_KEY",
    "ACTION_SERVER_TOKEN",
    "WEBCHAT_SECRET",
}


# Compose's variable interpolation: ${NAME}, ${NAME:-default}, ${NAME-default},
# ${NAME:?message}, ${NAME?message}, ${NAME:+value}, ${NAME+value}; $$ is a literal $.
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^${}]*))?\}")


class InterpolationError(ValueError):
    """A malformed ${...}, or a required variable that is not set."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """`text` with every variable replaced as `docker compose` does it."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
            continue
        if text.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        match = _REFERENCE.match(text, i)
        if not match:
            line = text.count("\n", 0, i) + 1
            raise InterpolationError(f"line {line}: malformed {text[i : i + 30]!r}")
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name)
        if operator is None:
            out.append(value or "")
        elif operator in {":-", "-"}:
            unset = value is None or (operator == ":-" and value == "")
            out.append(argument if unset else value or "")
        elif operator in {":?", "?"}:
            if value is None or (operator == ":?" and value == ""):
                raise InterpolationError(f"{name}: {argument}")
            out.append(value)
        else:  # :+ and +
            present = value is not None and (operator == "+" or value != "")
            out.append(argument if present else "")
        i = match.end()
    return "".join(out)


def references(text: str) -> list[tuple[str, str | None, str]]:
    """Every ${...} in `text` as (name, operator, argument)."""
    interpolate(text, {name: "x" for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text)})
    unescaped = text.replace("$$", "")
    return [(m.group(1), m.group(2), m.group(3) or "") for m in _REFERENCE.finditer(unescaped)]


def command_of(service: Mapping[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def environment_of(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def full_env() -> dict[str, str]:
    """Every required secret set, to a value that shows where it ends up."""
    return {name: f"secret-{name.lower()}" for name in REQUIRED_SECRETS}


def load_compose(env: Mapping[str, str] | None = None, path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file with its variables filled in from `env` (default: `full_env()`)."""
    text = path.read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(interpolate(text, full_env() if env is None else env))
    return loaded
