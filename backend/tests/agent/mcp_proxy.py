"""A real HTTP proxy on 127.0.0.1 in front of the MCP server that loses one tool's answers.

Calls to `failing_tool` reach the server (the change is saved) but the caller gets a 502 in place
of the answer: what a timeout or a dropped connection after the database commit looks like.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding"}


class LossyProxy:
    def __init__(self, target: str, failing_tool: str) -> None:
        self.target, self.failing_tool = target, failing_tool
        self.lost: list[dict] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/mcp"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _loses(self, body: bytes) -> bool:
        try:
            message = json.loads(body)
        except ValueError:
            return False
        params = message.get("params") if isinstance(message, dict) else None
        return (
            message.get("method") == "tools/call"
            and (params or {}).get("name") == self.failing_tool
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                answer = httpx.request(
                    self.command, proxy.target, content=body, headers=headers, timeout=10
                )
                if proxy._loses(body):
                    proxy.lost.append(json.loads(body))
                    self.send_error(502, "the answer was lost on the way back")
                    return
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, *_args: object) -> None:
                pass

        return Handler
