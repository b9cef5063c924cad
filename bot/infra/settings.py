"""Settings from the environment, read in one place.

Every value has a default that makes `make run` work on a fresh machine with no
configuration; production overrides them through the environment (see `.env.example`).
A `.env` file at the project root is read too, without overriding variables that are set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bot.infra.keys import local_secret, secret_from_env

PROJECT_ROOT = Path(__file__).resolve().parents[2]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A variable in the environment has a value that cannot be used."""


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw.strip())
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip()


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated networks (10.0.0.0/8, ::1/128, 192.0.2.7); each is checked."""
    import ipaddress

    parts = tuple(part.strip() for part in (_str(env, name) or "").split(",") if part.strip())
    for part in parts:
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError as exc:
            raise SettingsError(f"{name}: {part!r} is not a network or address") from exc
    return parts


def default_database_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'service.db'}"


def default_tracker_database_url() -> str:
    """Rasa's SQL tracker store as endpoints.yml configures it (var/rasa_tracker.db)."""
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'rasa_tracker.db'}"


def default_backup_dir() -> Path:
    return PROJECT_ROOT / "var" / "backups"


def default_complaint_catalog() -> Path:
    return PROJECT_ROOT / "data" / "complaints" / "catalog.yml"


def default_organisation_file() -> Path:
    return PROJECT_ROOT / "data" / "organisation.yml"


def default_handoff_file() -> Path:
    return PROJECT_ROOT / "data" / "handoff" / "desks.yml"


@dataclass(frozen=True)
class Settings:
    """The assistant's configuration. Build it with `Settings.from_env()`."""

    database_url: str = field(default_factory=default_database_url)
    database_echo: bool = False
    action_server_url: str = "http://localhost:5055/webhook"
    rasa_server_url: str = "http://localhost:5005"
    # Signs the tokens Rasa's HTTP API requires (HS256). `make run` makes a new one per
    # start when unset; set it to call the API yourself (python -m bot api-token).
    rasa_jwt_secret: str | None = field(default=None, repr=False)
    # Shared by the Rasa server (which sends it) and the action server (which refuses
    # requests without it). Unset: a random one kept in var/action_server_token.
    action_server_token: str | None = field(default=None, repr=False)
    # Where `python -m bot actions` listens (compose: 0.0.0.0 inside its network).
    action_server_host: str = "127.0.0.1"
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    # The organisation's own settings (cutoffs, answer times, booking windows, tariff):
    # data, not regulations; read by bot.organisation.
    organisation_file: Path = field(default_factory=default_organisation_file)
    # Policy answers: a clause is offered only if its BM25 score and its coverage of the
    # question (IDF-weighted share of the question's words) reach these; tuned with
    # `make eval-policy` on tests/data/policy_questions.tsv.
    policy_min_score: float = 20.0
    policy_min_coverage: float = 0.15
    # ...and the best one this score when the question names a thing no clause names (漏气).
    policy_min_score_unknown_noun: float = 23.0
    telegram_bot_token: str | None = field(default=None, repr=False)
    # Where the Telegram Bot API lives; tests point it at a local server.
    telegram_api_url: str = "https://api.telegram.org"
    # Webhook mode (else long polling): the public URL Telegram posts to, the secret it must
    # send in X-Telegram-Bot-Api-Secret-Token, and where the bridge listens behind a proxy.
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = field(default=None, repr=False)
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = 8443
    # Who may call Rasa's REST channel (it lets the caller name the sender): the project's
    # own bridges and tools. Comma-separated networks in REST_ALLOWED_NETWORKS.
    rest_allowed_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    # Reverse proxies whose X-Forwarded-For is believed (comma-separated networks); a
    # request that carries forwarding headers from anyone else is judged by the headers'
    # presence: the REST channel refuses it, the web chat counts it under the proxy.
    trusted_proxies: tuple[str, ...] = ()
    # Signs the web chat's session cookies; unset, a random key kept in var/webchat_secret.
    webchat_secret: str | None = field(default=None, repr=False)
    # New web chat sessions one client address may open per hour.
    webchat_sessions_per_hour: int = 20
    wechat_token: str | None = field(default=None, repr=False)
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = field(default=None, repr=False)
    wechat_encoding_aes_key: str | None = field(default=None, repr=False)
    # The WeChat API (tests point it at a local server) and how long the channel waits for
    # the assistant before answering `success` and pushing the answer later (WeChat: 5 s).
    wechat_api_url: str = "https://api.weixin.qq.com"
    wechat_reply_timeout: float = 4.0
    # Complaints: departments, categories with their response time frames, messages.
    complaint_catalog: Path = field(default_factory=default_complaint_catalog)
    # The supervisors' dashboard (`python -m bot admin`), local only unless told otherwise.
    admin_host: str = "127.0.0.1"
    admin_port: int = 8080
    # Signs the dashboard's session cookie; unset, a random key is kept in var/.
    admin_secret_key: str | None = field(default=None, repr=False)
    # The dashboard's cookie is Secure (never sent in clear) unless this is false; unset
    # (None), it is Secure except for requests to localhost.
    admin_cookie_secure: bool | None = None
    # Where the dashboard reads conversation transcripts: Rasa's SQL tracker store.
    tracker_database_url: str = field(default_factory=default_tracker_database_url)
    # Data operations: conversations and free chat text older than this many days are
    # purged by `python -m bot retention run`; `python -m bot backup` writes to backup_dir.
    retention_days: int = 180
    backup_dir: Path = field(default_factory=default_backup_dir)
    # Shared cache for several Rasa servers (WeChat nonces, message de-duplication, access
    # token): Redis when set, e.g. redis://:password@redis:6379/2; unset, process memory.
    redis_url: str | None = field(default=None, repr=False)
    # Starts every key the project writes there, so deployments may share one Redis.
    redis_key_prefix: str = "service-assistant:"
    # Reliability: how long the Rasa server waits for a custom action before it tells the
    # user the system is busy (with an incident id; see bot.runtime.action_guard).
    action_timeout: float = 10.0
    # Handing a chat to a person (转人工): staffed hours, idle time, the desk's messages.
    handoff_file: Path = field(default_factory=default_handoff_file)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from `env` (default: the process environment)."""
        env = os.environ if env is None else env
        return cls(
            database_url=_str(env, "DATABASE_URL") or default_database_url(),
            database_echo=_bool(env, "DATABASE_ECHO", False),
            action_server_url=_str(env, "ACTION_SERVER_URL", cls.action_server_url)
            or cls.action_server_url,
            rasa_server_url=(_str(env, "RASA_SERVER_URL", cls.rasa_server_url) or "").rstrip("/"),
            rasa_jwt_secret=secret_from_env("RASA_JWT_SECRET", env),
            action_server_token=secret_from_env("ACTION_SERVER_TOKEN", env),
            action_server_host=_str(env, "ACTION_SERVER_HOST", cls.action_server_host)
            or cls.action_server_host,
            timezone=_str(env, "SERVICE_TIMEZONE", cls.timezone) or cls.timezone,
            log_level=(_str(env, "LOG_LEVEL", cls.log_level) or cls.log_level).upper(),
            organisation_file=Path(
                _str(env, "ORGANISATION_FILE") or str(default_organisation_file())
            ),
            policy_min_score=_float(env, "POLICY_MIN_SCORE", cls.policy_min_score),
            policy_min_coverage=_float(env, "POLICY_MIN_COVERAGE", cls.policy_min_coverage),
            policy_min_score_unknown_noun=_float(
                env, "POLICY_MIN_SCORE_UNKNOWN_NOUN", cls.policy_min_score_unknown_noun
            ),
            telegram_bot_token=_str(env, "TELEGRAM_BOT_TOKEN"),
            telegram_api_url=(
                _str(env, "TELEGRAM_API_URL", cls.telegram_api_url) or cls.telegram_api_url
            ).rstrip("/"),
            telegram_webhook_url=_str(env, "TELEGRAM_WEBHOOK_URL"),
            telegram_webhook_secret=_str(env, "TELEGRAM_WEBHOOK_SECRET"),
            telegram_webhook_listen=_str(
                env, "TELEGRAM_WEBHOOK_LISTEN", cls.telegram_webhook_listen
            )
            or cls.telegram_webhook_listen,
            telegram_webhook_port=_int(env, "TELEGRAM_WEBHOOK_PORT", cls.telegram_webhook_port),
            rest_allowed_networks=tuple(
                part.strip()
                for part in (_str(env, "REST_ALLOWED_NETWORKS") or "").split(",")
                if part.strip()
            )
            or cls.rest_allowed_networks,
            trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
            webchat_secret=secret_from_env("WEBCHAT_SECRET", env),
            webchat_sessions_per_hour=_int(
                env, "WEBCHAT_SESSIONS_PER_HOUR", cls.webchat_sessions_per_hour, minimum=1
            ),
            wechat_token=_str(env, "WECHAT_TOKEN"),
            wechat_app_id=_str(env, "WECHAT_APP_ID"),
            wechat_app_secret=_str(env, "WECHAT_APP_SECRET"),
            wechat_encoding_aes_key=_str(env, "WECHAT_ENCODING_AES_KEY"),
            wechat_api_url=(
                _str(env, "WECHAT_API_URL", cls.wechat_api_url) or cls.wechat_api_url
            ).rstrip("/"),
            wechat_reply_timeout=_float(env, "WECHAT_REPLY_TIMEOUT", cls.wechat_reply_timeout),
            complaint_catalog=Path(
                _str(env, "COMPLAINT_CATALOG") or str(default_complaint_catalog())
            ),
            admin_host=_str(env, "ADMIN_HOST", cls.admin_host) or cls.admin_host,
            admin_port=_int(env, "ADMIN_PORT", cls.admin_port, minimum=1),
            admin_secret_key=secret_from_env("ADMIN_SECRET_KEY", env),
            admin_cookie_secure=None
            if _str(env, "ADMIN_COOKIE_SECURE") is None
            else _bool(env, "ADMIN_COOKIE_SECURE", True),
            tracker_database_url=_str(env, "TRACKER_DATABASE_URL")
            or default_tracker_database_url(),
            retention_days=_int(env, "RETENTION_DAYS", cls.retention_days, minimum=1),
            backup_dir=Path(_str(env, "BACKUP_DIR") or str(default_backup_dir())),
            redis_url=_str(env, "REDIS_URL"),
            redis_key_prefix=_str(env, "REDIS_KEY_PREFIX", cls.redis_key_prefix)
            or cls.redis_key_prefix,
            action_timeout=_float(env, "ACTION_TIMEOUT", cls.action_timeout),
            handoff_file=Path(_str(env, "HANDOFF_FILE") or str(default_handoff_file())),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def action_server_token(settings: Settings) -> str:
    """ACTION_SERVER_TOKEN, or the random token this machine's servers share in var/."""
    return settings.action_server_token or local_secret(
        PROJECT_ROOT / "var" / "action_server_token"
    )


def webchat_secret(settings: Settings) -> str:
    """WEBCHAT_SECRET, or the random key kept in var/ (sessions survive a restart)."""
    return settings.webchat_secret or local_secret(PROJECT_ROOT / "var" / "webchat_secret")


def load_dotenv_file(path: Path = PROJECT_ROOT / ".env") -> None:
    """Load `path` into the environment, leaving variables that are already set alone."""
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    load_dotenv_file()
    return Settings.from_env()
