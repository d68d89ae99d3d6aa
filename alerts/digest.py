"""One chat's pending notifications as HTML messages: escaped, summarised when large, split at 4096."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html import escape

from alerts.botapi import TEXT_LIMIT
from alerts.models import Notification

ICONS = {"firing": "🔴", "reminder": "🟠", "resolved": "✅", "notice": "ℹ️"}
PART_ROOM = TEXT_LIMIT - 40  # room for the "(part i/n)" header


@dataclass
class Part:
    text: str
    notification_ids: list[int] = field(default_factory=list)


def digest_render(rows: list[Notification], *, list_limit: int, console_url: str) -> list[Part]:
    """Every row is named in a part, or counted in the first part's summary (and marked summarised)."""
    named, counted = rows[:list_limit], rows[list_limit:]
    lines: list[tuple[str, list[int]]] = [(_headline(rows), [r.pk for r in counted])]
    if counted:
        lines.append((_summary(counted, console_url), []))
    for row in named:
        lines.append((_line(row), [row.pk]))
    for row in counted:
        row.summarised = True
    return _split(lines)


def _headline(rows: list[Notification]) -> str:
    events = Counter(r.event for r in rows)
    bits = ", ".join(f"{n} {event}" for event, n in sorted(events.items()))
    return f"<b>tgfleet: {len(rows)} alert notification{'s' if len(rows) != 1 else ''}</b> ({escape(bits)})"


def _line(row: Notification) -> str:
    alert = row.alert
    team = alert.details.get("team") if isinstance(alert.details, dict) else ""
    where = f" [{escape(str(team))}]" if team else ""
    return f"{ICONS.get(row.event, '•')} <b>{escape(alert.kind)}</b>{where} {escape(alert.summary)}" + (
        f" (×{alert.count})" if alert.count > 1 and row.event != "resolved" else ""
    )


def _summary(rows: list[Notification], console_url: str) -> str:
    by_kind = Counter(f"{r.event} {r.alert.kind}" for r in rows)
    by_team = Counter(str(r.alert.details.get("team") or "no team") for r in rows if isinstance(r.alert.details, dict))
    kinds = ", ".join(f"{escape(k)} ×{n}" for k, n in by_kind.most_common(10))
    teams = ", ".join(f"{escape(t)} ×{n}" for t, n in by_team.most_common(10))
    link = f"{escape(console_url.rstrip('/'))}/admin/alerts/alert/?state__exact=firing"
    return f'…and {len(rows)} more: {kinds}. By team: {teams}. <a href="{link}">Open the list</a>'


def _split(lines: list[tuple[str, list[int]]]) -> list[Part]:
    parts: list[Part] = [Part("")]
    for text, ids in lines:
        for piece in _pieces(text):
            if parts[-1].text and len(parts[-1].text) + 1 + len(piece) > PART_ROOM:
                parts.append(Part(""))
            parts[-1].text += ("\n" if parts[-1].text else "") + piece
            parts[-1].notification_ids.extend(ids)
            ids = []
    if len(parts) > 1:
        for i, part in enumerate(parts, 1):
            part.text = f"<i>(part {i}/{len(parts)})</i>\n{part.text}"
    return parts


def _pieces(text: str) -> list[str]:
    """A line too long for one message is cut between characters, never inside a tag or an entity."""
    if len(text) <= PART_ROOM:
        return [text]
    pieces, current, depth = [], "", 0
    for char in text:
        current += char
        depth += char in "<&"
        depth -= char in ">;" and depth > 0
        if len(current) >= PART_ROOM - 10 and depth == 0:
            pieces.append(current)
            current = ""
    return [*pieces, current] if current else pieces
