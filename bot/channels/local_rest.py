"""Rasa's REST channel, answering only callers on trusted networks.

The REST channel lets its caller name any sender id, so it is for the project's own
bridges and tools on this machine (or the deployment's internal network), never for the
public: requests from other addresses get 403. `REST_ALLOWED_NETWORKS` lists the networks
(default: loopback only). A request relayed by a reverse proxy is judged by the client the
proxy names, if the proxy is trusted (`TRUSTED_PROXIES`; `bot.channels.client_address`),
and refused if it is not: a proxy on this host must not open the channel to everyone.

Only JSON is read (415 otherwise): a web page can post `text/plain` to any address
without asking, but not JSON, so no page opened in a browser here can talk as a sender.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.client_address import in_networks, sanic_client_address
from bot.infra.settings import get_settings
from bot.runtime import action_guard, handoff_relay

# Rasa imports this channel before it serves: a failing custom action gets a busy reply,
# and a sender a person has taken over is relayed to the person (bot/handoff).
action_guard.install()
handoff_relay.install()


def allowed(address: str | None, networks: tuple[str, ...]) -> bool:
    return address is not None and in_networks(address, networks)


def is_json(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "application/json"


class LocalRestInput(RestInput):
    """The stock `rest` channel (/webhooks/rest/webhook) behind an address check."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = super().blueprint(on_new_message)
        settings = get_settings()
        networks, proxies = settings.rest_allowed_networks, settings.trusted_proxies

        @hook.middleware("request")
        async def only_trusted_callers(request: Request) -> HTTPResponse | None:
            if not allowed(sanic_client_address(request, proxies), networks):
                return response.json({"error": "forbidden"}, status=403)
            if request.method == "POST" and not is_json(request.content_type):
                return response.json({"error": "JSON only"}, status=415)
            return None

        return hook
