"""A local stand-in for the Telegram Bot API: serves queued updates, records what is sent."""

from __future__ import annotations

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER = {"id": 42, "is_bot": True, "first_name": "服务助手", "username": "service_test_bot"}


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class FakeTelegram:
    def __init__(self) -> None:
        self.updates: queue.Queue[dict[str, Any]] = queue.Queue()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.flood_next_send = 0  # answer this many sendMessage calls with 429
        self._update_id = 0
        self._message_id = 1000
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()

    # --- what a test does ---

    def user_says(self, user_id: int, text: str) -> None:
        self._push({"message": self._message(user_id, text=text)})

    def user_presses(self, user_id: int, data: str) -> None:
        self._push(
            {
                "callback_query": {
                    "id": f"cb{time.time_ns()}",
                    "from": self._user(user_id),
                    "chat_instance": "1",
                    "data": data,
                    "message": self._message(user_id, text="按钮"),
                }
            }
        )

    def user_sends(self, user_id: int, **content: Any) -> None:
        self._push({"message": self._message(user_id, **content)})

    def user_edits(self, user_id: int, text: str) -> None:
        self._push({"edited_message": {**self._message(user_id, text=text), "edit_date": 1}})

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.calls if name == method]

    def wait_for(self, method: str, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent = self.sent(method)
            if len(sent) >= count:
                return sent
            time.sleep(0.1)
        raise AssertionError(f"{method} called {len(self.sent(method))} times, expected {count}")

    # --- the fake itself ---

    def _push(self, update: dict[str, Any]) -> None:
        with self._lock:
            self._update_id += 1
            self.updates.put({"update_id": self._update_id, **update})

    @staticmethod
    def _user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "测试", "language_code": "zh-hans"}

    def _message(self, user_id: int, **content: Any) -> dict[str, Any]:
        with self._lock:
            self._message_id += 1
            message_id = self._message_id
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": self._user(user_id),
            **content,
        }

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append((method, params))
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method == "getUpdates":
            updates = []
            try:
                updates.append(self.updates.get(timeout=0.5))
                while True:
                    updates.append(self.updates.get_nowait())
            except queue.Empty:
                pass
            return 200, {"ok": True, "result": updates}
        if method in {"sendMessage", "sendPhoto"}:
            if method == "sendMessage" and self.flood_next_send > 0:
                self.flood_next_send -= 1
                with self._lock:
                    self.calls.pop()  # refused: not sent
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                }
            with self._lock:
                self._message_id += 1
                message_id = self._message_id
            chat = {"id": int(params["chat_id"]), "type": "private"}
            result = {"message_id": message_id, "date": int(time.time()), "chat": chat}
            return 200, {"ok": True, "result": {**result, "text": params.get("text", "")}}
        return 200, {"ok": True, "result": True}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(body or "{}")
                else:
                    params = {k: _value(v[0]) for k, v in parse_qs(body).items()}
                method = self.path.rsplit("/", 1)[-1]
                status, payload = fake._answer(method, params)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
