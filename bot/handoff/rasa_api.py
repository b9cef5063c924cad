"""Resume a conversation in Rasa after a person hands it back, through Rasa's HTTP API.

`POST /conversations/{sender}/tracker/events` with a `resume` event (Rasa's
ConversationResumed) and `action_listen`, authorised by an HS256 JWT signed with
`RASA_JWT_SECRET`, the token the project's API already requires
(bot/runtime/rasa_server.py). When the call fails, the Rasa server resumes the
conversation itself on the sender's next message (bot/runtime/handoff_relay.py), so
nobody is left unanswered.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx
import jwt

from bot.infra.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def api_token(jwt_secret: str) -> str:
    """A bearer token for Rasa's HTTP API (the admin role)."""
    payload = {"user": {"username": "service-assistant", "role": "admin"}}
    return jwt.encode(payload, jwt_secret, algorithm="HS256")


def resume_conversation(sender_id: str, settings: Settings | None = None) -> bool:
    """Append ConversationResumed to the sender's conversation; False when Rasa could not
    be told (no secret, unreachable, refused)."""
    settings = settings or get_settings()
    if not settings.rasa_jwt_secret:
        logger.warning("cannot resume a conversation through Rasa's API: no RASA_JWT_SECRET")
        return False
    url = f"{settings.rasa_server_url}/conversations/{quote(sender_id, safe=':')}/tracker/events"
    try:
        reply = httpx.post(
            url,
            # Listening again: the messages kept for the person while paused were never
            # answered by the assistant; the next one starts a fresh turn.
            json=[{"event": "resume"}, {"event": "action", "name": "action_listen"}],
            headers={"Authorization": f"Bearer {api_token(settings.rasa_jwt_secret)}"},
            timeout=10,
        )
    except httpx.HTTPError as error:
        logger.warning("resuming a conversation: Rasa unreachable (%s)", type(error).__name__)
        return False
    if reply.status_code != 200:
        logger.warning("resuming a conversation: Rasa answered %s", reply.status_code)
        return False
    return True
