"""Proxy URLs and Telegram's proxy links, parsed strictly: a bad one is refused with what is wrong with it.

Accepted forms (one per line in `import_proxies`):
  socks5://[user:pass@]host:port      (socks5h:// too: names resolve at the proxy, as Telethon does anyway)
  http://[user:pass@]host:port        (HTTP CONNECT)
  mtproxy://SECRET@host:port          (SECRET: 32 hex digits, or dd/ee + hex, or the base64 form)
  tg://proxy?server=H&port=P&secret=S  and  https://t.me/proxy?… (MTProxy links as Telegram shares them)
  tg://socks?server=H&port=P[&user=U&pass=W]  and  https://t.me/socks?… (SOCKS5 links)
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

SOCKS5, HTTP, MTPROXY = "socks5", "http", "mtproxy"
HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
                  r"|^\[?[0-9A-Fa-f:.]+\]?$")  # fmt: skip
MAX_URL = 2048


class ProxyUrlError(ValueError):
    """The proxy URL or link is not usable; the message says why (and never repeats a password)."""


@dataclass(frozen=True)
class ProxySpec:
    kind: str
    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)  # MTProxy, as given (hex or base64, with its dd/ee prefix)

    @property
    def address(self) -> str:
        return f"{self.kind}://{self.host}:{self.port}"


def proxy_url_parse(text: str) -> ProxySpec:
    text = text.strip()
    if not text:
        raise ProxyUrlError("empty")
    if len(text) > MAX_URL or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise ProxyUrlError("not a URL (too long, or spaces or control characters in it)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ProxyUrlError(f"not a URL: {_reason(exc)}") from None
    scheme = parts.scheme.lower()
    if scheme in ("tg", "https") and (scheme == "tg" or parts.hostname in ("t.me", "telegram.me")):
        return _link(scheme, parts)
    if scheme in ("socks5", "socks5h", "http"):
        kind = SOCKS5 if scheme.startswith("socks5") else HTTP
        return ProxySpec(kind, _host(parts.hostname), _port(port), unquote(parts.username or ""),
                         unquote(parts.password or ""))  # fmt: skip
    if scheme == "mtproxy":
        if parts.password is not None or not parts.username:
            raise ProxyUrlError("an MTProxy URL is mtproxy://SECRET@host:port")
        return ProxySpec(MTPROXY, _host(parts.hostname), _port(port), secret=mtproxy_secret(unquote(parts.username)))
    raise ProxyUrlError(f"unknown scheme {scheme or '(none)'!r}: use socks5://, http://, mtproxy:// or a tg:// link")


def _link(scheme: str, parts) -> ProxySpec:
    kind = parts.netloc if scheme == "tg" else parts.path.strip("/")
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    if kind not in ("proxy", "socks"):
        raise ProxyUrlError(f"unknown link {scheme}://{kind}: use tg://proxy or tg://socks")
    port = query.get("port", "")
    if not port.isascii() or not port.isdigit():
        raise ProxyUrlError("the link's port must be a number from 1 to 65535")
    if kind == "proxy":
        if not query.get("secret"):
            raise ProxyUrlError("an MTProxy link needs secret=")
        return ProxySpec(MTPROXY, _host(query.get("server")), _port(int(port)), secret=mtproxy_secret(query["secret"]))
    return ProxySpec(SOCKS5, _host(query.get("server")), _port(int(port)), query.get("user", ""),
                     query.get("pass", ""))  # fmt: skip


def mtproxy_secret(secret: str) -> str:
    """The secret as given, once checked: 16 bytes in hex or base64, alone, after dd (padded intermediate), or
    after ee and followed by the domain it imitates (fake TLS)."""
    try:
        raw = bytes.fromhex(secret)
    except ValueError:
        try:
            raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
        except (binascii.Error, ValueError):
            raise ProxyUrlError("the MTProxy secret is neither hex nor base64") from None
    if len(raw) == 16 or (raw[:1] == b"\xdd" and len(raw) == 17) or (raw[:1] == b"\xee" and len(raw) > 17):
        return secret
    raise ProxyUrlError("the MTProxy secret must be 16 bytes (32 hex digits), alone, after dd, or after ee + domain")


def _host(host: str | None) -> str:
    if not host or not HOST.match(host) or len(host) > 253:
        raise ProxyUrlError("the host is missing or not a host name or IP address")
    return host.strip("[]").lower()


def _port(port: int | None) -> int:
    if port is None or not 1 <= port <= 65535:
        raise ProxyUrlError("the port is missing or not from 1 to 65535")
    return port


def _reason(exc: Exception) -> str:
    """urllib's message, without the URL (which may hold a password)."""
    return str(exc).split(":")[0][:80]
