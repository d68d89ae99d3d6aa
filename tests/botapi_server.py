"""A loopback Telegram Bot API: real HTTP on 127.0.0.1, scripted per request, recording what it got.

Script answers with `then(...)`: 'ok', 'migrate:<new id>', 'kicked', 'retry_after:<s>', '500', 'slow:<s>'
(answers ok after a delay), 'reset' (drops the TCP connection). Unscripted requests are answered ok.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "123456789:AAloopbackTOKENloopbackTOKENloopback"
KICKED = "Forbidden: bot was kicked from the group chat"
UPGRADED = "Bad Request: group chat was upgraded to a supergroup chat"


@dataclass(frozen=True)
class Received:
    chat_id: str
    text: str
    thread_id: int | None
    parse_mode: str
    at: float


class LoopbackBotAPI:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.received: list[Received] = []
        self.arrived: list[Received] = []  # recorded when a request arrives, before any answer
        self._script: deque[str] = deque()
        self._lock = threading.Lock()
        self._next_message_id = 1
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="loopback-botapi")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def then(self, *answers: str) -> None:
        with self._lock:
            self._script.extend(answers)

    def start(self) -> LoopbackBotAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer_for(self) -> str:
        with self._lock:
            return self._script.popleft() if self._script else "ok"

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                match = re.fullmatch(r"/bot(?P<token>[^/]+)/sendMessage", self.path)
                if not match or match["token"] != api.token:
                    return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                got = Received(str(body.get("chat_id")), body.get("text", ""), body.get("message_thread_id"),
                               body.get("parse_mode", ""), time.time())  # fmt: skip
                with api._lock:
                    api.arrived.append(got)
                answer = api._answer_for()
                kind, _, arg = answer.partition(":")
                if kind == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                if kind == "slow":
                    time.sleep(float(arg))
                if kind in ("ok", "slow"):
                    with api._lock:
                        api.received.append(got)
                        message_id = api._next_message_id
                        api._next_message_id += 1
                    return self._reply(200, {"ok": True, "result": {"message_id": message_id, "text": got.text}})
                if kind == "migrate":
                    return self._reply(400, {"ok": False, "error_code": 400,
                                             "description": UPGRADED,
                                             "parameters": {"migrate_to_chat_id": int(arg)}})  # fmt: skip
                if kind == "kicked":
                    return self._reply(403, {"ok": False, "error_code": 403,
                                             "description": KICKED})  # fmt: skip
                if kind == "bad":  # a 4xx of no known kind, with this description
                    return self._reply(400, {"ok": False, "error_code": 400, "description": arg})
                if kind == "retry_after":
                    return self._reply(429, {"ok": False, "error_code": 429,
                                             "description": f"Too Many Requests: retry after {arg}",
                                             "parameters": {"retry_after": int(arg)}})  # fmt: skip
                return self._reply(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})

            def _reply(self, status: int, doc: dict) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
