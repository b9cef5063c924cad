from __future__ import annotations

import os

import pytest

from bot.infra.settings import PROJECT_ROOT, Settings, SettingsError, load_dotenv_file


def test_defaults_need_no_configuration():
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'service.db'}"
    assert settings.is_sqlite
    assert settings.action_server_url == "http://localhost:5055/webhook"
    assert settings.rasa_server_url == "http://localhost:5005"
    assert settings.organisation_file == PROJECT_ROOT / "data" / "organisation.yml"
    assert settings.telegram_bot_token is None
    assert settings.wechat_token is None


def test_environment_overrides():
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://svc@db/service",
            "RASA_SERVER_URL": "http://rasa:5005/",
            "ORGANISATION_FILE": " /etc/service/organisation.yml ",
            "POLICY_MIN_SCORE": "2.5",
            "POLICY_MIN_SCORE_UNKNOWN_NOUN": "30",
            "DATABASE_ECHO": "yes",
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "WECHAT_TOKEN": "tok",
            "WECHAT_APP_ID": "wx1",
            "WECHAT_APP_SECRET": "sec",
            "WECHAT_ENCODING_AES_KEY": "k" * 43,
        }
    )
    assert settings.database_url == "postgresql://svc@db/service"
    assert not settings.is_sqlite
    assert settings.rasa_server_url == "http://rasa:5005"
    assert str(settings.organisation_file) == "/etc/service/organisation.yml"
    assert settings.policy_min_score == 2.5
    assert settings.policy_min_score_unknown_noun == 30.0
    assert settings.database_echo is True
    assert settings.telegram_bot_token == "123:abc"
    assert settings.wechat_encoding_aes_key == "k" * 43


def test_secrets_are_not_in_the_repr():
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": "123:secret", "WECHAT_APP_SECRET": "s3"})
    assert "secret" not in repr(settings)
    assert "s3" not in repr(settings)


def test_blank_values_fall_back_to_defaults():
    settings = Settings.from_env({"DATABASE_URL": "  ", "ORGANISATION_FILE": ""})
    assert settings.is_sqlite
    assert settings.organisation_file == PROJECT_ROOT / "data" / "organisation.yml"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RETENTION_DAYS", "sixty", "whole number"),
        ("RETENTION_DAYS", "0", "at least 1"),
        ("POLICY_MIN_SCORE", "high", "number"),
        ("DATABASE_ECHO", "maybe", "true or false"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(name, value, message):
    with pytest.raises(SettingsError, match=name) as error:
        Settings.from_env({name: value})
    assert message in str(error.value)


def test_dotenv_file_does_not_override_the_environment(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("SVC_TEST_A=from-file\nSVC_TEST_B=from-file\n", encoding="utf-8")
    monkeypatch.setenv("SVC_TEST_A", "from-env")
    monkeypatch.delenv("SVC_TEST_B", raising=False)
    load_dotenv_file(env_file)
    assert os.environ["SVC_TEST_A"] == "from-env"
    assert os.environ["SVC_TEST_B"] == "from-file"
    monkeypatch.delenv("SVC_TEST_B")
