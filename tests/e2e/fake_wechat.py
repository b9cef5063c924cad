"""A local stand-in for the WeChat API: access tokens and customer-service messages."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeWeChatApi:
    """The two WeChat API calls the channel makes: access token and customer-service send."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.token_requests = 0
        # Answer custom/send with this errcode instead of sending (45015: the user has not
        # written within 48 hours), 0 to send.
        self.refuse_with = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.token_requests += 1
                self._json({"access_token": "token-1", "expires_in": 7200})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                assert query["access_token"] == ["token-1"]
                payload = json.loads(self.rfile.read(length))
                if fake.refuse_with:
                    self._json({"errcode": fake.refuse_with, "errmsg": "refused"})
                    return
                fake.sent.append(payload)
                self._json({"errcode": 0, "errmsg": "ok"})

            def _json(self, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
