"""The way out for one account's connections: through its proxy, or direct when it has none. Never direct when
it has one (a session seen from another address is a reason Telegram logs it out)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from telethon.network import ConnectionTcpFull, ConnectionTcpMTProxyRandomizedIntermediate

from accounts.telegram.endpoint import Endpoint
from accounts.telegram.proxy_url import MTPROXY, ProxySpec


@dataclass(frozen=True)
class ProxyRoute:
    proxy_id: int
    label: str
    kind: str
    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)

    def connection(self, endpoint: Endpoint, loggers):
        """Telethon's connection to the DC through this proxy (its own MTProxy class for MTProxy)."""
        connection, proxy = self.client_options()
        return connection(endpoint.host, endpoint.port, endpoint.dc_id, loggers=loggers, proxy=proxy)

    def client_options(self) -> tuple[type, tuple | dict]:
        """Telethon's connection class and its `proxy` argument (as TelegramClient takes them)."""
        if self.kind == MTPROXY:
            return ConnectionTcpMTProxyRandomizedIntermediate, (self.host, self.port, self.secret)
        proxy = {"proxy_type": self.kind, "addr": self.host, "port": self.port, "rdns": True,
                 "username": self.username or None, "password": self.password or None}  # fmt: skip
        return ConnectionTcpFull, proxy


def proxy_secrets_pack(spec: ProxySpec) -> bytes:
    return json.dumps({"password": spec.password, "secret": spec.secret}).encode()


def proxy_secrets_unpack(data: bytes) -> dict[str, str]:
    doc = json.loads(data) if data else {}
    return {"password": doc.get("password", ""), "secret": doc.get("secret", "")}
