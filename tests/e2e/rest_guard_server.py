"""The project's REST channel alone in a Sanic server on all interfaces, answering with an
echo instead of Rasa: `python tests/e2e/rest_guard_server.py PORT`.

The development server keeps Rasa on localhost, so the channel's own address check is
tried here, where callers from the machine's other addresses can reach it."""

from __future__ import annotations

import sys

from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels.local_rest import LocalRestInput


async def echo(message: UserMessage) -> None:
    await message.output_channel.send_text_message(message.sender_id, f"echo:{message.text}")


def main(port: int) -> None:
    app = Sanic("rest_guard")
    app.blueprint(LocalRestInput().blueprint(echo), url_prefix="/webhooks/rest")
    app.run(host="0.0.0.0", port=port, access_log=False)


if __name__ == "__main__":
    main(int(sys.argv[1]))
