"""Open SQLite bytes in memory: session files are parsed and written without touching disk."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from accounts.sessions.record import SessionFormatError

SQLITE_MAGIC = b"SQLite format 3\x00"


def sqlite_open(data: bytes) -> sqlite3.Connection:
    if not data.startswith(SQLITE_MAGIC):
        raise SessionFormatError("not an SQLite file")
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(data)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise SessionFormatError(f"SQLite file is corrupted or truncated ({exc})") from None
    return conn


def sqlite_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    try:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    except sqlite3.DatabaseError as exc:
        raise SessionFormatError(f"SQLite file is corrupted or truncated ({exc})") from None


def sqlite_dump(statements: list[tuple[str, tuple]]) -> bytes:
    """Run statements on an empty in-memory database and return the file's bytes."""
    with closing(sqlite3.connect(":memory:")) as conn:
        for sql, params in statements:
            conn.execute(sql, params)
        conn.commit()
        return conn.serialize()
