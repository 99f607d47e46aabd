"""A webhook receiver on 127.0.0.1 for tests: answers a scripted list of status codes
(then 200), with the standard reason phrase or ``reason``, and keeps every request it got
(headers and raw body)."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


@dataclass
class Receiver:
    url: str
    answers: list[int]
    requests: list[Received] = field(default_factory=list)


@contextmanager
def webhook_receiver(
    answers: list[int] | None = None, reason: str | None = None
) -> Iterator[Receiver]:
    receiver = Receiver(url="", answers=list(answers or []))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                code = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(code, reason)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook?x=1"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
