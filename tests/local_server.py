"""Serve a test HTTP server from a background thread on 127.0.0.1 (port 0), and stop it cleanly.

What it does: `ServerThread` owns the thread that runs `serve_forever` for any
`socketserver`-style server the fakes build (feed server, fake APIs), starts it, and stops it
without hanging when it was never started. What it does not do: routing or answers (each fake
has its own handler).
"""

from __future__ import annotations

import threading
from socketserver import BaseServer


class ServerThread:
    """Runs `server.serve_forever` in a daemon thread; `stop` shuts it down and closes it."""

    def __init__(self, server: BaseServer, name: str) -> None:
        self.server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=name,
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() would wait forever on a server never started
            self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])  # type: ignore[index]
