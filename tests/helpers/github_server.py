"""The in-memory GitHub of tests/helpers/github_api.py, served over real HTTP on 127.0.0.1.

What runs in another process (the Action under act, a console script) cannot be reached
by `responses`; it is pointed at this server with `GITHUB_API_URL=http://127.0.0.1:PORT`
instead, and the test reads the same model's state afterwards. The server listens on the
loopback interface only, on a port the kernel picks, in a daemon thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers.github_api import FakeGitHub


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as PyGithub's requests session expects
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = f"{self.server.fake.api}{self.path}"
        status, headers, text = self.server.fake.handle(self.command, url, self.headers, raw)
        data = text.encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the model records every request; stderr stays quiet


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGitHub


@contextmanager
def serve_github(**settings: Any) -> Iterator[FakeGitHub]:
    """A FakeGitHub (with `settings`) whose `api` is this server's root URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    host, port = server.server_address[:2]
    server.fake = FakeGitHub(api=f"http://{host}:{port}", **settings)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-github", daemon=True
    )
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
