"""Real session files and strings, made by Telethon's and Pyrogram's own session classes."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from pyrogram.storage import FileStorage, MemoryStorage
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession, StringSession

CANARY_KEY = (b"CANARY-auth-key!" * 16)[:256]


def random_key() -> bytes:
    return os.urandom(256)


def telethon_file(path: Path, *, key: bytes, dc_id: int = 2, address: str = "149.154.167.51", port: int = 443) -> Path:
    session = SQLiteSession(str(path.with_suffix("")))
    session.set_dc(dc_id, address, port)
    session.auth_key = AuthKey(key)
    session.save()
    session.close()
    return path.with_suffix(".session")


def telethon_file_v7(path: Path, *, key: bytes, **dc: object) -> Path:
    """Telethon's previous schema (7): the same file without tmp_auth_key."""
    made = telethon_file(path, key=key, **dc)
    with sqlite3.connect(made) as conn:
        conn.execute("ALTER TABLE sessions DROP COLUMN tmp_auth_key")
        conn.execute("UPDATE version SET version = 7")
    return made


def telethon_string(*, key: bytes, dc_id: int = 2, address: str = "149.154.167.51", port: int = 443) -> str:
    session = StringSession()
    session.set_dc(dc_id, address, port)
    session.auth_key = AuthKey(key)
    return session.save()


def _pyrogram_fill(storage, *, key: bytes, dc_id: int, api_id: int, user_id: int, test_mode: bool):
    async def fill():
        await storage.open()
        await storage.dc_id(dc_id)
        await storage.api_id(api_id)
        await storage.test_mode(test_mode)
        await storage.auth_key(key)
        await storage.user_id(user_id)
        await storage.is_bot(False)
        await storage.date(0)
        result = await storage.export_session_string()
        await storage.save()
        await storage.close()
        return result

    return asyncio.run(fill())


def pyrogram_file(
    directory: Path, name: str, *, key: bytes, dc_id: int = 4, api_id: int = 12345, user_id: int = 777000111
) -> Path:
    _pyrogram_fill(FileStorage(name, directory), key=key, dc_id=dc_id, api_id=api_id, user_id=user_id, test_mode=False)
    return directory / f"{name}.session"


def pyrogram_string(*, key: bytes, dc_id: int = 4, api_id: int = 12345, user_id: int = 777000111) -> str:
    return _pyrogram_fill(
        MemoryStorage(":memory:"), key=key, dc_id=dc_id, api_id=api_id, user_id=user_id, test_mode=False
    )


def pyrogram_string_read(session_string: str) -> dict[str, object]:
    async def read():
        storage = MemoryStorage("read", session_string=session_string)
        await storage.open()
        values = {
            "dc_id": await storage.dc_id(),
            "api_id": await storage.api_id(),
            "test_mode": await storage.test_mode(),
            "auth_key": await storage.auth_key(),
            "user_id": await storage.user_id(),
        }
        await storage.close()
        return values

    return asyncio.run(read())
