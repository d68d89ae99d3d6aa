"""The Telegram Bot API over HTTP: send one message, and say plainly how it went.

Every failure is one of: temporary (retry; honour retry_after), migrated (the group became
a supergroup: resend to the new id), or permanent (bot kicked or blocked, chat not found,
user deactivated: disable the route). The token never appears in errors or logs.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from django.conf import settings

TEXT_LIMIT = 4096


@dataclass(frozen=True)
class SendResult:
    ok: bool
    message_id: int | None = None
    temporary: bool = False
    permanent: bool = False
    unknown: bool = False  # a 4xx we cannot place: retried a few times before it counts as permanent
    retry_after: int | None = None
    migrate_to_chat_id: str | None = None
    error: str = ""


UNCONFIGURED = "TELEGRAM_BOT_TOKEN is not set: alerts wait in the outbox until it is"
PERMANENT_MARKERS = ("bot was kicked", "bot was blocked", "chat not found", "user is deactivated",
                     "bot is not a member", "have no rights to send", "group chat was deleted")  # fmt: skip


def bot_message_send(*, chat_id: str, text: str, thread_id: int | None = None) -> SendResult:
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        return SendResult(False, temporary=True, error=UNCONFIGURED)
    payload: dict[str, object] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML",
                                  "link_preview_options": {"is_disabled": True}}  # fmt: skip
    if thread_id:
        payload["message_thread_id"] = thread_id
    url = f"{settings.TELEGRAM_BOT_API_URL.rstrip('/')}/bot{token}/sendMessage"
    try:
        response = httpx.post(url, json=payload, timeout=settings.ALERT_SEND_TIMEOUT)
    except httpx.TimeoutException:
        return SendResult(False, temporary=True, error="Bot API did not answer in time")
    except httpx.HTTPError as exc:
        return SendResult(False, temporary=True, error=f"Bot API unreachable ({type(exc).__name__})")
    return _result(response)


def _result(response: httpx.Response) -> SendResult:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and body.get("ok"):
        return SendResult(True, message_id=body.get("result", {}).get("message_id"))
    description = str(body.get("description", f"HTTP {response.status_code}"))[:250]
    parameters = body.get("parameters") or {}
    error = f"{response.status_code} {description}"
    if parameters.get("migrate_to_chat_id"):
        return SendResult(False, migrate_to_chat_id=str(parameters["migrate_to_chat_id"]), error=error)
    if response.status_code == 429:
        return SendResult(False, temporary=True, retry_after=int(parameters.get("retry_after", 5)), error=error)
    if response.status_code >= 500:
        return SendResult(False, temporary=True, error=error)
    lowered = description.lower()
    if response.status_code in (401, 403) or any(marker in lowered for marker in PERMANENT_MARKERS):
        return SendResult(False, permanent=True, error=error)
    # Another 4xx: probably our request, but Telegram has answered odd 400s in passing; retry a little first.
    return SendResult(False, permanent=True, unknown=True, error=error)
