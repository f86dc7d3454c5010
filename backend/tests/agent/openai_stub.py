"""A small OpenAI-compatible server: answers /v1/chat/completions from a script.

The first request (no tool result yet) gets one tool call; once the conversation holds the tool's
result, the answer is the final text, or an HTTP 500 when `fail_after_tool` is set. Requests with
`stream: true` get the same answers as server-sent chunks, the final text in a few pieces, sent
`pause` seconds apart (so a test can tell a relayed stream from a buffered one). Every request
body is kept for assertions. It listens on 127.0.0.1 unless given the address pods reach the host
on (the end-to-end tests load this file by path).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TEXT_PIECES = 3


class OpenAIStub:
    def __init__(
        self,
        tool: str,
        arguments: dict[str, Any],
        final_text: str,
        fail_after_tool: bool = False,
        host: str = "127.0.0.1",
        pause: float = 0.0,
    ) -> None:
        self.tool, self.arguments, self.final_text = tool, arguments, final_text
        self.fail_after_tool, self.pause = fail_after_tool, pause
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str] = []
        self.httpd = ThreadingHTTPServer((host, 0), self._handler())
        self.base_url = f"http://{host}:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def message(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The assistant message for this request, None for a server error."""
        if body["messages"][-1]["role"] != "tool":
            call = {
                "id": f"call_{len(self.requests)}",
                "type": "function",
                "function": {"name": self.tool, "arguments": json.dumps(self.arguments)},
            }
            return {"role": "assistant", "content": None, "tool_calls": [call]}
        if self.fail_after_tool:
            return None
        return {"role": "assistant", "content": self.final_text}

    def completion(self, body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._envelope(body, "chat.completion"),
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(message)}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    def chunks(self, body: dict[str, Any], message: dict[str, Any]) -> list[dict[str, Any]]:
        """The message as chat.completion.chunk objects: text in pieces, a tool call whole."""
        deltas: list[dict[str, Any]] = []
        if message.get("tool_calls"):
            calls = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
            deltas.append({"role": "assistant", "tool_calls": calls})
        else:
            text, size = message["content"], -(-len(message["content"]) // TEXT_PIECES)
            pieces = [text[i : i + size] for i in range(0, len(text), size)]
            deltas.extend({"role": "assistant", "content": piece} for piece in pieces)
        envelope = self._envelope(body, "chat.completion.chunk")
        chunks = [
            {**envelope, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            for delta in deltas
        ]
        last = {"index": 0, "delta": {}, "finish_reason": _finish(message)}
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        return [*chunks, {**envelope, "choices": [last], "usage": usage}]

    def _envelope(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": kind,
            "created": 0,
            "model": body["model"],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != "/v1/chat/completions":
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                stub.authorizations.append(self.headers.get("Authorization", ""))
                message = stub.message(body)
                if message is None:
                    self.send_error(500)
                elif body.get("stream"):
                    events = [f"data: {json.dumps(c)}\n\n" for c in stub.chunks(body, message)]
                    self._stream([*events, "data: [DONE]\n\n"])
                else:
                    self._send("application/json", json.dumps(stub.completion(body, message)))

            def _send(self, content_type: str, text: str) -> None:
                payload = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, events: list[str]) -> None:
                # HTTP/1.0 without a length: the body ends when the connection closes.
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for index, event in enumerate(events):
                    if index and stub.pause:
                        time.sleep(stub.pause)
                    self.wfile.write(event.encode())
                    self.wfile.flush()

            def log_message(self, *_args: object) -> None:
                pass

        return Handler


def _finish(message: dict[str, Any]) -> str:
    return "tool_calls" if message.get("tool_calls") else "stop"
