"""A tiny threaded HTTP receiver (alert transports, outbound-URL checks): records every request, answers a chosen
status with optional headers (a redirect's Location) and body."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    method: str = "POST"


@dataclass
class Receiver:
    url: str
    status: int = 200
    requests: list[Received] = field(default_factory=list)


@contextmanager
def http_receiver(
    status: int = 200, headers: dict[str, str] | None = None, body: bytes | None = None
) -> Iterator[Receiver]:
    state = Receiver(url="", status=status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.requests.append(
                Received(self.path, dict(self.headers.items()), self.rfile.read(length), self.command)
            )
            self.send_response(state.status)
            self.send_header("Content-Type", "text/plain")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body if body is not None else b"ok" if state.status < 400 else b"no such hook")

        do_GET = do_PUT = do_DELETE = do_POST

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
