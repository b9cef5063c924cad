"""The web chat channel in a Sanic server whose "assistant" is the gas binding service:
each message "户号 NNNN" is a binding attempt by the message's sender. The takeover test
plays its attacker against this over HTTP (a full Rasa turn per guess would add nothing
but minutes: the sender and the lock-outs are what is under test).

    python tests/security/webchat_binding_server.py PORT
"""

from __future__ import annotations

import sys

from rasa.core.channels.channel import UserMessage
from sanic import Sanic, response

from bot.channels.webchat import WebChatInput
from bot.gas.accounts import bind_account, find_account_no
from bot.infra import clock
from bot.infra.db import session_scope


async def bind(message: UserMessage) -> None:
    # "户号 digits", as the form would have asked for them one after the other.
    account_text, _, digits = (message.text or "").partition(" ")
    account_no = find_account_no(account_text) or ""
    with session_scope() as session:
        result = bind_account(
            session=session,
            sender_id=message.sender_id or "",
            account_no=account_no,
            phone_last4=digits.strip(),
            now=clock.now(),
            channel="webchat",
        )
        outcome = result.outcome.value
    await message.output_channel.send_text_message(message.sender_id or "", outcome)


def main(port: int) -> None:
    app = Sanic("webchat_binding")
    app.blueprint(WebChatInput().blueprint(bind), url_prefix="/webhooks/webchat")

    @app.get("/health")
    async def health(_request: object) -> response.HTTPResponse:
        return response.text("ok")

    app.run(host="127.0.0.1", port=port, access_log=False)


if __name__ == "__main__":
    main(int(sys.argv[1]))
