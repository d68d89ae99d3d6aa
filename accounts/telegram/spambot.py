"""What @SpamBot's answer to /start means. One table, first match wins: add a language by adding rows.

@SpamBot is one piece of evidence, not the whole truth (an account it calls free can still meet PEER_FLOOD).
Any answer no row matches is `unknown`, and its text is kept for review.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

FREE, LIMITED, LIMITED_UNTIL, TOS_BLOCKED, PHONE_FLAGGED, UNKNOWN = (
    "free", "limited", "limited_until", "tos_blocked", "phone_flagged", "unknown")  # fmt: skip
BLOCKING = {LIMITED, LIMITED_UNTIL, TOS_BLOCKED, PHONE_FLAGGED}

ANSWERS: list[tuple[str, re.Pattern]] = [
    (FREE, re.compile(r"no limits are currently applied to your account", re.I)),
    (TOS_BLOCKED, re.compile(r"blocked for violations of the Telegram Terms of Service", re.I)),
    (PHONE_FLAGGED, re.compile(r"phone number .{0,80}(flagged|suspicious|marked as spam)", re.I | re.S)),
    (LIMITED_UNTIL, re.compile(r"limited until (?P<until>\d{1,2} \w{3,9} \d{4}(?:, \d{1,2}:\d{2})?(?: UTC)?)", re.I)),
    (LIMITED, re.compile(r"your account is (?:now )?limited|only send messages to mutual contacts", re.I)),
]
DATE_FORMATS = ("%d %b %Y, %H:%M UTC", "%d %B %Y, %H:%M UTC", "%d %b %Y, %H:%M", "%d %B %Y, %H:%M", "%d %b %Y",
                "%d %B %Y")  # fmt: skip


@dataclass(frozen=True)
class SpamVerdict:
    kind: str
    until: dt.datetime | None = None

    @property
    def blocked(self) -> bool | None:
        return None if self.kind == UNKNOWN else self.kind in BLOCKING


def spambot_classify(text: str) -> SpamVerdict:
    for kind, pattern in ANSWERS:
        found = pattern.search(text or "")
        if found:
            until = _date(found.groupdict().get("until") or "")
            return SpamVerdict(kind if until or kind != LIMITED_UNTIL else LIMITED, until)
    return SpamVerdict(UNKNOWN)


def _date(text: str) -> dt.datetime | None:
    for pattern in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text.strip(), pattern).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    return None
