"""A real HTTP server on 127.0.0.1 that plays better-auth's JWKS endpoint in the tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve_json(port: int, answer: Callable[[], dict | None]) -> ThreadingHTTPServer:
    """Serve every GET with `answer()` as JSON, or 503 when it returns None (up, not ready).
    Port 0 picks a free one; the server runs in a daemon thread until `shutdown()`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            document = answer()
            if document is None:
                self.send_error(503)
                return
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd
