"""Pyrogram's SQLite session (storage versions 2 and 3) and its session strings (all three layouts)."""

from __future__ import annotations

import base64
import struct
import time
from contextlib import closing

from accounts.sessions.record import (
    DEFAULT_PORT,
    MAX_API_ID,
    SessionFormat,
    SessionFormatError,
    SessionRecord,
    b64url_strict,
    dc_address,
    whole_number,
)
from accounts.sessions.sqlite_memory import (
    sqlite_columns,
    sqlite_dump,
    sqlite_first_row,
    sqlite_open,
    sqlite_require_types,
)

PYROGRAM_STORAGE_VERSION = 3
STRING_FORMAT = ">BI?256sQ?"  # dc_id, api_id, test_mode, auth_key, user_id, is_bot
_OLD_FORMATS = {351: ">B?256sI?", 356: ">B?256sQ?"}  # dc_id, test_mode, auth_key, user_id, is_bot
_CURRENT_LENGTH = 362


SQLITE_TYPES = {"dc_id": "INTEGER", "test_mode": "INTEGER", "auth_key": "BLOB", "user_id": "INTEGER"}


def is_pyrogram_schema(columns: dict[str, str]) -> bool:
    return set(SQLITE_TYPES) <= set(columns)


def pyrogram_sqlite_parse(data: bytes) -> SessionRecord:
    with closing(sqlite_open(data)) as conn:
        return pyrogram_sqlite_read(conn, sqlite_columns(conn, "sessions"))


def pyrogram_sqlite_read(conn, columns: dict[str, str]) -> SessionRecord:
    """The session in an SQLite file already opened (by `sqlite_open`) whose sessions columns are ``columns``."""
    if not is_pyrogram_schema(columns):
        raise SessionFormatError("SQLite file is not a Pyrogram session (no sessions table with test_mode)")
    # Storage version 2 had no api_id column.
    expected = {**SQLITE_TYPES, "api_id": "INTEGER"} if "api_id" in columns else SQLITE_TYPES
    sqlite_require_types(columns, expected, what="Pyrogram session")
    api_id = "api_id" if "api_id" in columns else "NULL"
    row = sqlite_first_row(conn, f"SELECT dc_id, {api_id}, test_mode, auth_key, user_id FROM sessions")  # noqa: S608
    if row is None:
        raise SessionFormatError("Pyrogram session holds no session row")
    dc_id, api_id, test_mode, key, user_id = row
    if not isinstance(key, bytes):
        raise SessionFormatError("Pyrogram session's auth_key is not binary")
    if test_mode not in (0, 1):
        raise SessionFormatError("Pyrogram session's test_mode is not 0 or 1")
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
    dc_id = whole_number(dc_id, "Pyrogram session's dc_id")
    return SessionRecord(
        dc_id=dc_id,
        server_address=dc_address(dc_id, test_server=test_mode),
        port=DEFAULT_PORT,
        auth_key=key,
        source_format=source,
        user_id=whole_number(user_id, "Pyrogram session's user_id") if user_id else None,
        test_server=test_mode,
        api_id=whole_number(api_id, "Pyrogram session's api_id", maximum=MAX_API_ID) if api_id else None,
    )
