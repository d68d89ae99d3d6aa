"""Telethon's SQLite `.session` (schema 7 and 8) and its StringSession."""

from __future__ import annotations

import base64
import ipaddress
import struct
from contextlib import closing

from accounts.sessions.record import (
    SessionFormat,
    SessionFormatError,
    SessionRecord,
    b64url_strict,
    dc_is_test,
    whole_number,
)
from accounts.sessions.sqlite_memory import (
    sqlite_columns,
    sqlite_dump,
    sqlite_first_row,
    sqlite_open,
    sqlite_require_types,
)

TELETHON_SCHEMA_VERSION = 8
STRING_VERSION = "1"
_STRING_STRUCT = ">B{}sH256s"
_STRING_LENGTHS = {352: 4, 368: 16}  # base64 length after the version char -> IP bytes


SQLITE_TYPES = {"dc_id": "INTEGER", "server_address": "TEXT", "port": "INTEGER", "auth_key": "BLOB"}


def is_telethon_schema(columns: dict[str, str]) -> bool:
    return set(SQLITE_TYPES) <= set(columns)


def telethon_sqlite_parse(data: bytes) -> SessionRecord:
    with closing(sqlite_open(data)) as conn:
        return telethon_sqlite_read(conn, sqlite_columns(conn, "sessions"))


def telethon_sqlite_read(conn, columns: dict[str, str]) -> SessionRecord:
    """The session in an SQLite file already opened (by `sqlite_open`) whose sessions columns are ``columns``."""
    if not is_telethon_schema(columns):
        raise SessionFormatError("SQLite file is not a Telethon session (no sessions table with auth_key)")
    sqlite_require_types(columns, SQLITE_TYPES, what="Telethon session")
    row = sqlite_first_row(conn, "SELECT dc_id, server_address, port, auth_key FROM sessions")
    if row is None:
        raise SessionFormatError("Telethon session holds no data centre row (never connected)")
    dc_id, address, port, key = row
    if not isinstance(key, bytes):
        raise SessionFormatError("Telethon session's auth_key is not binary")
    if not isinstance(address, str):
        raise SessionFormatError("Telethon session's server_address is not text")
    dc_id = whole_number(dc_id, "Telethon session's dc_id")
    return SessionRecord(
        dc_id=dc_id,
        server_address=address,
        port=whole_number(port, "Telethon session's port"),
        auth_key=key,
        source_format=SessionFormat.TELETHON_SQLITE,
        test_server=dc_is_test(dc_id, address),
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
