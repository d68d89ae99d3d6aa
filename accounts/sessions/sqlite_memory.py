"""Open SQLite bytes in memory: session files are parsed and written without touching disk.

An uploaded SQLite file is hostile until shown otherwise: its "table" may be a view over a
recursive query, or hold 200 MB blobs. So every connection here runs with small length limits
and a budget of virtual-machine steps, only real tables (no views, no generated columns) with
the expected column types are read, and only their first row.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

from accounts.sessions.record import SessionFormatError

SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_VALUE_BYTES = 64 * 1024  # a session row holds a 256-byte key and a short address
PROGRESS_EVERY = 1000  # VM steps between two calls of the budget handler
MAX_PROGRESS_CALLS = 500  # 500,000 steps: a session file needs a few hundred
_LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: MAX_VALUE_BYTES,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: 100_000,
    sqlite3.SQLITE_LIMIT_COLUMN: 64,
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 50,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 4,
    sqlite3.SQLITE_LIMIT_FUNCTION_ARG: 8,
    sqlite3.SQLITE_LIMIT_ATTACHED: 0,
    sqlite3.SQLITE_LIMIT_TRIGGER_DEPTH: 1,
}


def sqlite_open(data: bytes) -> sqlite3.Connection:
    if not data.startswith(SQLITE_MAGIC):
        raise SessionFormatError("not an SQLite file")
    conn = sqlite3.connect(":memory:")
    # A corrupt file's text may not be UTF-8: decode it loosely (a bad name or address is then refused by the
    # checks that follow) rather than let UnicodeDecodeError escape as a server error.
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
    for limit, value in _LIMITS.items():
        conn.setlimit(limit, value)
    calls = 0

    def budget() -> int:
        nonlocal calls
        calls += 1
        return 1 if calls > MAX_PROGRESS_CALLS else 0  # non-zero aborts the statement

    conn.set_progress_handler(budget, PROGRESS_EVERY)
    try:
        conn.deserialize(data)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        conn.close()
        raise _corrupt(exc) from None
    return conn


def sqlite_columns(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    """The columns of a real table, lower-case name -> upper-case declared type; {} when there is none.

    A view, a virtual table or a generated column is refused: reading them runs the file's own SQL.
    """
    try:
        kinds = {row[0] for row in conn.execute("SELECT type FROM sqlite_master WHERE name = ?", (table,))}
        if not kinds:
            return {}
        if kinds != {"table"} or _is_virtual(conn, table):
            raise SessionFormatError(f"SQLite file's {table} is not a plain table")
        columns = {}
        for _cid, name, declared, _notnull, _default, _pk, hidden in conn.execute(f"PRAGMA table_xinfo({table})"):
            if hidden:
                raise SessionFormatError(f"SQLite file's {table} has a generated or hidden column")
            columns[str(name).lower()] = str(declared or "").upper()
        return columns
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise _corrupt(exc) from None


def sqlite_require_types(columns: dict[str, str], expected: dict[str, str], *, what: str) -> None:
    """Every expected column is there with the declared type the real library writes."""
    for name, kind in expected.items():
        if name not in columns:
            raise SessionFormatError(f"{what} has no {name} column")
        if columns[name] != kind:
            raise SessionFormatError(f"{what}'s {name} column is {columns[name] or 'untyped'}, not {kind}")


def sqlite_first_row(conn: sqlite3.Connection, query: str) -> tuple | None:
    try:
        return conn.execute(query + " LIMIT 1").fetchone()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise _corrupt(exc) from None


def _is_virtual(conn: sqlite3.Connection, table: str) -> bool:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    return bool(row and row[0] and row[0].lstrip().upper().startswith("CREATE VIRTUAL"))


def _corrupt(exc: sqlite3.DatabaseError | UnicodeDecodeError) -> SessionFormatError:
    if isinstance(exc, UnicodeDecodeError):  # SQLite's own message quoted the file's broken text
        return SessionFormatError("SQLite file is corrupted (its schema is not valid text)")
    text = str(exc)
    if "interrupted" in text:
        return SessionFormatError("SQLite file needs too much work to read (refused)")
    if "too big" in text:
        return SessionFormatError(f"SQLite file holds a value over {MAX_VALUE_BYTES} bytes (refused)")
    return SessionFormatError(f"SQLite file is corrupted or truncated ({text[:100]})")


def sqlite_dump(statements: list[tuple[str, tuple]]) -> bytes:
    """Run statements on an empty in-memory database and return the file's bytes."""
    with closing(sqlite3.connect(":memory:")) as conn:
        for sql, params in statements:
            conn.execute(sql, params)
        conn.commit()
        return conn.serialize()
