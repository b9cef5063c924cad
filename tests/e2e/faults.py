"""A TCP link between two real processes that the tests can break: a database that goes
away, an action server that stops answering. Everything else about the processes is real.
"""

from __future__ import annotations

import enum
import select
import socket
import threading
from contextlib import suppress


class LinkMode(str, enum.Enum):
    FORWARD = "forward"  # bytes pass both ways
    REFUSE = "refuse"  # connections are closed at once: the service is down
    STALL = "stall"  # connections are accepted and nothing passes: the service hangs


class FaultyLink:
    """Listens on a free local port and forwards to `target_port` as its mode says."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.mode = LinkMode.FORWARD
        self._changed = threading.Condition()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def set_mode(self, mode: LinkMode, *, drop_connections: bool = False) -> None:
        """Switch mode; `drop_connections` also cuts the connections that are open (what a
        crashed server or a restarted database does to its clients)."""
        with self._changed:
            self.mode = mode
            if drop_connections or mode is LinkMode.REFUSE:
                self._drop_all()
            self._changed.notify_all()

    def close(self) -> None:
        self._closed = True
        with suppress(OSError):
            self._listener.close()
        with self._changed:
            self._drop_all()
            self._changed.notify_all()

    def _drop_all(self) -> None:
        for sock in list(self._sockets):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                sock.close()
        self._sockets.clear()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with self._changed:
            if self.mode is LinkMode.REFUSE:
                client.close()
                return
            self._sockets.add(client)
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        with self._changed:
            self._sockets.add(upstream)
        threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
        self._pump(upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                with self._changed:
                    # While stalled nothing is read: the peer waits as on a hung server.
                    while self.mode is LinkMode.STALL and source in self._sockets:
                        self._changed.wait(0.2)
                    if source not in self._sockets:
                        return
                readable, _, _ = select.select([source], [], [], 0.2)
                if not readable or self.mode is LinkMode.STALL:
                    continue
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except (OSError, ValueError):  # a socket cut by set_mode or by the peer
            pass
        for sock in (source, sink):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                sock.close()
            with self._changed:
                self._sockets.discard(sock)
