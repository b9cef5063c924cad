"""WeChat's customer-service message API (`message/custom/send`), without Rasa.

The channel (bot.channels.wechat) pushes slow answers through it and bot.notify sends
notifications through it; kept apart from the channel so that sending a notification
from the domain (gas reminders, complaint updates) does not import Rasa.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from bot.infra.cache import Cache, cache_from_settings
from bot.infra.settings import Settings

TOKEN_LOCK_SECONDS = 30  # the longest one caller may hold the access-token renewal
EXPIRED_TOKEN_CODES = {40001, 40014, 42001}


class CustomerService:
    """WeChat's customer-service message API. The access token is cached (shared by the
    servers when the cache is Redis) and renewed by one caller at a time."""

    def __init__(self, settings: Settings, cache: Cache | None = None) -> None:
        self._settings = settings
        self.cache: Cache = cache or cache_from_settings(settings)
        self._token_key = f"wechat:access-token:{settings.wechat_app_id}"

    async def _access_token(self, client: httpx.AsyncClient, *, refused: str | None = None) -> str:
        token = await self.cache.get(self._token_key)
        if token and token != refused:
            return token
        async with self.cache.lock(self._token_key, TOKEN_LOCK_SECONDS):
            # Another caller may have renewed it while this one waited for the lock.
            token = await self.cache.get(self._token_key)
            if token and token != refused:
                return token
            reply = await client.get(
                f"{self._settings.wechat_api_url}/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self._settings.wechat_app_id,
                    "secret": self._settings.wechat_app_secret,
                },
            )
            data = reply.json()
            if "access_token" not in data:
                raise RuntimeError(f"no access token: errcode {data.get('errcode')}")
            # Renew five minutes before WeChat's expiry (7200 s).
            lifetime = max(60, int(data.get("expires_in", 7200)) - 300)
            await self.cache.put(self._token_key, str(data["access_token"]), lifetime)
            return str(data["access_token"])

    async def send_text(self, openid: str, text: str) -> None:
        payload = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        refused: str | None = None
        async with httpx.AsyncClient(timeout=10) as client:
            for _ in range(2):
                token = await self._access_token(client, refused=refused)
                reply = await client.post(
                    f"{self._settings.wechat_api_url}/cgi-bin/message/custom/send",
                    params={"access_token": token},
                    content=_json(payload),
                    headers={"Content-Type": "application/json"},
                )
                code = reply.json().get("errcode", 0)
                if code == 0:
                    return
                if code not in EXPIRED_TOKEN_CODES:
                    raise RuntimeError(f"custom/send failed: errcode {code}")
                refused = token
        raise RuntimeError("custom/send failed: the access token was refused twice")


def _json(payload: dict[str, Any]) -> bytes:
    # WeChat wants the Chinese as it is, not as \\u escapes.
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")
