"""Pyrogram's SQLite session (storage versions 2 and 3) and its session strings (all three layouts)."""

from __future__ import annotations

import base64
import sqlite3
import struct
import time
from contextlib import closing

from accounts.sessions.record import (
    DEFAULT_PORT,
    SessionFormat,
    SessionFormatError,
    SessionRecord,
    b64url_strict,
    dc_address,
)
from accounts.sessions.sqlite_memory import sqlite_columns, sqlite_dump, sqlite_open

PYROGRAM_STORAGE_VERSION = 3
STRING_FORMAT = ">BI?256sQ?"  # dc_id, api_id, test_mode, auth_key, user_id, is_bot
_OLD_FORMATS = {351: ">B?256sI?", 356: ">B?256sQ?"}  # dc_id, test_mode, auth_key, user_id, is_bot
_CURRENT_LENGTH = 362


def is_pyrogram_schema(columns: list[str]) -> bool:
    return {"dc_id", "test_mode", "auth_key", "user_id"} <= set(columns)


def pyrogram_sqlite_parse(data: bytes) -> SessionRecord:
    with closing(sqlite_open(data)) as conn:
        columns = sqlite_columns(conn, "sessions")
        if not is_pyrogram_schema(columns):
            raise SessionFormatError("SQLite file is not a Pyrogram session (no sessions table with test_mode)")
        # Storage version 2 had no api_id column.
        query = (
            "SELECT dc_id, api_id, test_mode, auth_key, user_id FROM sessions"
            if "api_id" in columns
            else "SELECT dc_id, NULL, test_mode, auth_key, user_id FROM sessions"
        )
        try:
            row = conn.execute(query).fetchone()
        except sqlite3.DatabaseError as exc:
            raise SessionFormatError(f"SQLite file is corrupted or truncated ({exc})") from None
    if row is None:
        raise SessionFormatError("Pyrogram session holds no session row")
    dc_id, api_id, test_mode, key, user_id = row
    if not isinstance(key, bytes):
        raise SessionFormatError("Pyrogram session's auth_key is not binary")
    return _record(dc_id, api_id, bool(test_mode), key, user_id, SessionFormat.PYROGRAM_SQLITE)


def pyrogram_sqlite_export(record: SessionRecord) -> bytes:
    return sqlite_dump(
        [
            (
                "CREATE TABLE sessions (dc_id INTEGER PRIMARY KEY, api_id INTEGER, test_mode INTEGER,"
                " auth_key BLOB, date INTEGER NOT NULL, user_id INTEGER, is_bot INTEGER)",
                (),
            ),
            (
                "CREATE TABLE peers (id INTEGER PRIMARY KEY, access_hash INTEGER, type INTEGER NOT NULL,"
                " username TEXT, phone_number TEXT, last_update_on INTEGER NOT NULL"
                " DEFAULT (CAST(STRFTIME('%s', 'now') AS INTEGER)))",
                (),
            ),
            ("CREATE TABLE version (number INTEGER PRIMARY KEY)", ()),
            ("INSERT INTO version VALUES (?)", (PYROGRAM_STORAGE_VERSION,)),
            (
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, 0)",
                (
                    record.dc_id,
                    record.api_id,
                    int(record.test_server),
                    record.auth_key,
                    int(time.time()),
                    record.user_id,
                ),
            ),
        ]
    )


def looks_like_pyrogram_string(text: str) -> bool:
    return len(text) == _CURRENT_LENGTH or len(text) in _OLD_FORMATS


def pyrogram_string_parse(text: str) -> SessionRecord:
    try:
        raw = b64url_strict(text)
    except SessionFormatError:
        raise SessionFormatError("Pyrogram session string has bad base64") from None
    try:
        if len(text) == _CURRENT_LENGTH:
            dc_id, api_id, test_mode, key, user_id, _is_bot = struct.unpack(STRING_FORMAT, raw)
        elif len(text) in _OLD_FORMATS:
            dc_id, test_mode, key, user_id, _is_bot = struct.unpack(_OLD_FORMATS[len(text)], raw)
            api_id = None
        else:
            raise SessionFormatError(f"not a Pyrogram session string (351, 356 or 362 characters; got {len(text)})")
    except struct.error:
        raise SessionFormatError("Pyrogram session string has the wrong length once decoded") from None
    return _record(dc_id, api_id, test_mode, key, user_id, SessionFormat.PYROGRAM_STRING)


def pyrogram_string_export(record: SessionRecord) -> str:
    packed = struct.pack(
        STRING_FORMAT, record.dc_id, record.api_id or 0, record.test_server, record.auth_key, record.user_id or 0, False
    )
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def _record(dc_id, api_id, test_mode: bool, key: bytes, user_id, source: SessionFormat) -> SessionRecord:
    return SessionRecord(
        dc_id=int(dc_id),
        server_address=dc_address(int(dc_id), test_server=test_mode),
        port=DEFAULT_PORT,
        auth_key=key,
        source_format=source,
        user_id=int(user_id) if user_id else None,
        test_server=test_mode,
        api_id=int(api_id) if api_id else None,
    )
