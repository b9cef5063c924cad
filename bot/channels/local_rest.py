"""Rasa's REST channel, answering only callers on trusted networks.

The REST channel lets its caller name any sender id, so it is for the project's own
bridges and tools on this machine (or the deployment's internal network), never for the
public: requests from other addresses get 403. `REST_ALLOWED_NETWORKS` lists the networks
(default: loopback only).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import action_guard
from bot.settings import get_settings

# Rasa imports this channel before it serves: a failing custom action gets a busy reply.
action_guard.install()


def allowed(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network, strict=False) for network in networks)


class LocalRestInput(RestInput):
    """The stock `rest` channel (/webhooks/rest/webhook) behind an address check."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = super().blueprint(on_new_message)
        networks = get_settings().rest_allowed_networks

        @hook.middleware("request")
        async def only_trusted_callers(request: Request) -> HTTPResponse | None:
            if not allowed(request.ip, networks):
                return response.json({"error": "forbidden"}, status=403)
            return None

        return hook
