"""Talk to the Rasa server's REST channel from a bridge, asynchronously."""

from __future__ import annotations

from typing import Any

import httpx

REST_WEBHOOK = "/webhooks/rest/webhook"


class RasaClient:
    """Sends one user message to Rasa and returns the assistant's replies."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    async def send(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        response = await self._client.post(
            REST_WEBHOOK, json={"sender": sender, "message": text, "metadata": metadata or {}}
        )
        response.raise_for_status()
        replies = response.json()
        return replies if isinstance(replies, list) else []

    async def aclose(self) -> None:
        await self._client.aclose()
