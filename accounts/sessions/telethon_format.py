"""Telethon's SQLite `.session` (schema 7 and 8) and its StringSession."""

from __future__ import annotations

import base64
import ipaddress
import sqlite3
import struct
from contextlib import closing

from accounts.sessions.record import SessionFormat, SessionFormatError, SessionRecord, b64url_strict, dc_is_test
from accounts.sessions.sqlite_memory import sqlite_columns, sqlite_dump, sqlite_open

TELETHON_SCHEMA_VERSION = 8
STRING_VERSION = "1"
_STRING_STRUCT = ">B{}sH256s"
_STRING_LENGTHS = {352: 4, 368: 16}  # base64 length after the version char -> IP bytes


def is_telethon_schema(columns: list[str]) -> bool:
    return {"dc_id", "server_address", "port", "auth_key"} <= set(columns)


def telethon_sqlite_parse(data: bytes) -> SessionRecord:
    with closing(sqlite_open(data)) as conn:
        if not is_telethon_schema(sqlite_columns(conn, "sessions")):
            raise SessionFormatError("SQLite file is not a Telethon session (no sessions table with auth_key)")
        try:
            rows = conn.execute("SELECT dc_id, server_address, port, auth_key FROM sessions").fetchall()
        except sqlite3.DatabaseError as exc:
            raise SessionFormatError(f"SQLite file is corrupted or truncated ({exc})") from None
    if not rows:
        raise SessionFormatError("Telethon session holds no data centre row (never connected)")
    dc_id, address, port, key = rows[0]
    if not isinstance(key, bytes):
        raise SessionFormatError("Telethon session's auth_key is not binary")
    return SessionRecord(
        dc_id=int(dc_id),
        server_address=str(address),
        port=int(port),
        auth_key=key,
        source_format=SessionFormat.TELETHON_SQLITE,
        test_server=dc_is_test(int(dc_id), str(address)),
    )


def telethon_sqlite_export(record: SessionRecord) -> bytes:
    """A `.session` file in the schema Telethon writes today, opened by Telethon's SQLiteSession."""
    return sqlite_dump(
        [
            ("CREATE TABLE version (version integer primary key)", ()),
            (
                "CREATE TABLE sessions (dc_id integer primary key, server_address text, port integer,"
                " auth_key blob, takeout_id integer, tmp_auth_key blob)",
                (),
            ),
            (
                "CREATE TABLE entities (id integer primary key, hash integer not null, username text,"
                " phone integer, name text, date integer)",
                (),
            ),
            (
                "CREATE TABLE sent_files (md5_digest blob, file_size integer, type integer, id integer,"
                " hash integer, primary key(md5_digest, file_size, type))",
                (),
            ),
            (
                "CREATE TABLE update_state (id integer primary key, pts integer, qts integer, date integer,"
                " seq integer)",
                (),
            ),
            ("INSERT INTO version VALUES (?)", (TELETHON_SCHEMA_VERSION,)),
            (
                "INSERT INTO sessions VALUES (?, ?, ?, ?, NULL, ?)",
                (record.dc_id, record.server_address, record.port, record.auth_key, b""),
            ),
        ]
    )


def looks_like_telethon_string(text: str) -> bool:
    return text.startswith(STRING_VERSION) and len(text) - 1 in _STRING_LENGTHS


def telethon_string_parse(text: str) -> SessionRecord:
    body = text[1:]
    ip_length = _STRING_LENGTHS.get(len(body))
    if not text.startswith(STRING_VERSION) or ip_length is None:
        raise SessionFormatError(f"not a Telethon StringSession (version 1, 353 or 369 characters; got {len(text)})")
    try:
        raw = b64url_strict(body)
        dc_id, ip, port, key = struct.unpack(_STRING_STRUCT.format(ip_length), raw)
    except (SessionFormatError, struct.error):
        raise SessionFormatError("Telethon StringSession has bad base64") from None
    address = ipaddress.ip_address(ip).compressed
    return SessionRecord(
        dc_id=dc_id,
        server_address=address,
        port=port,
        auth_key=key,
        source_format=SessionFormat.TELETHON_STRING,
        test_server=dc_is_test(dc_id, address),
    )


def telethon_string_export(record: SessionRecord) -> str:
    ip = ipaddress.ip_address(record.server_address).packed
    packed = struct.pack(_STRING_STRUCT.format(len(ip)), record.dc_id, ip, record.port, record.auth_key)
    return STRING_VERSION + base64.urlsafe_b64encode(packed).decode("ascii")
