"""A terminal chat with a running assistant over Rasa's REST channel."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

PROMPT = "您: "


def send_message(
    server_url: str, sender: str, message: str, *, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Post `message` as `sender` to the REST channel and return the bot's replies."""
    body = json.dumps({"sender": sender, "message": message}).encode("utf-8")
    request = urllib.request.Request(
        f"{server_url.rstrip('/')}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        replies: list[dict[str, Any]] = json.loads(response.read().decode("utf-8"))
    return replies


def render(replies: list[dict[str, Any]]) -> list[str]:
    """Print the replies; return the button payloads in the order they were numbered."""
    payloads: list[str] = []
    for reply in replies:
        if reply.get("text"):
            print(f"助手: {reply['text']}")
        for button in reply.get("buttons") or []:
            payloads.append(button["payload"])
            print(f"   [{len(payloads)}] {button['title']}")
    return payloads


def chat(*, server_url: str, sender: str | None = None) -> int:
    """Read lines from the terminal until EOF or Ctrl-C; a number picks a button."""
    sender = sender or f"cli:{uuid.uuid4().hex[:12]}"
    print(f"已连接 {server_url}(会话 {sender})。")
    print("输入消息后回车;输入数字选择按钮;Ctrl-D 或 /exit 退出。")
    payloads: list[str] = []
    while True:
        try:
            line = input(PROMPT).strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if line in {"/exit", "/quit"}:
            return 0
        if not line:
            continue
        if line.isdigit() and 1 <= int(line) <= len(payloads):
            line = payloads[int(line) - 1]
        try:
            payloads = render(send_message(server_url, sender, line))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            print(f"(无法连接助手:{exc})")
