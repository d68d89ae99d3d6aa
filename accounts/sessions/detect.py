"""Turn uploaded files (any supported format, zips of them, .session + .json pairs) into records.

Each input gives either a ParsedSession or a Rejection naming the file and the reason.
Nothing here touches disk or the database.
"""

from __future__ import annotations

import io
import posixpath
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings

from accounts.sessions.pyrogram_format import (
    is_pyrogram_schema,
    looks_like_pyrogram_string,
    pyrogram_sqlite_read,
    pyrogram_string_parse,
)
from accounts.sessions.record import AccountProfile, SessionFormatError, SessionRecord
from accounts.sessions.sidecar import sidecar_parse
from accounts.sessions.sqlite_memory import SQLITE_MAGIC, sqlite_columns, sqlite_open
from accounts.sessions.telethon_format import (
    is_telethon_schema,
    looks_like_telethon_string,
    telethon_sqlite_read,
    telethon_string_parse,
)

ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class InputFile:
    name: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class ParsedSession:
    name: str
    record: SessionRecord
    profile: AccountProfile = field(default_factory=AccountProfile)


@dataclass(frozen=True)
class Rejection:
    name: str
    reason: str


def sessions_parse(files: Iterable[InputFile]) -> list[ParsedSession | Rejection]:
    """Parse every file; zips are opened, and a `.json` joins the `.session` of the same stem."""
    flat: list[InputFile | Rejection] = []
    for item in files:
        if item.data.startswith(ZIP_MAGIC):
            flat.extend(_zip_members(item))
        else:
            flat.append(item)
    return _pair_and_parse(flat)


def session_parse_one(data: bytes, *, name: str) -> SessionRecord:
    """One file or string of any supported single-session format."""
    limit = settings.SESSION_IMPORT_MAX_FILE_BYTES
    if len(data) > limit:
        raise SessionFormatError(f"file is {len(data)} bytes, over the {limit}-byte limit")
    if data.startswith(SQLITE_MAGIC):
        return _sqlite_parse(data)
    if not data.strip():
        raise SessionFormatError("file is empty")
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise SessionFormatError("not a session: neither SQLite nor a session string") from None
    if text.startswith("{"):
        raise SessionFormatError("a JSON sidecar needs its .session file of the same name")
    if looks_like_telethon_string(text):
        return telethon_string_parse(text)
    if looks_like_pyrogram_string(text):
        return pyrogram_string_parse(text)
    raise SessionFormatError(
        f"not a session: text of {len(text)} characters is neither a Telethon StringSession (353 or 369)"
        " nor a Pyrogram session string (351, 356 or 362)"
    )


def _sqlite_parse(data: bytes) -> SessionRecord:
    """Opened once: the schema says which format, and the same connection reads it."""
    conn = sqlite_open(data)
    try:
        columns = sqlite_columns(conn, "sessions")
        if is_telethon_schema(columns):
            return telethon_sqlite_read(conn, columns)
        if is_pyrogram_schema(columns):
            return pyrogram_sqlite_read(conn, columns)
    finally:
        conn.close()
    raise SessionFormatError("SQLite file has an unknown schema (neither Telethon nor Pyrogram)")


def _pair_and_parse(items: list[InputFile | Rejection]) -> list[ParsedSession | Rejection]:
    sidecars: dict[str, InputFile] = {}
    sessions: list[InputFile] = []
    results: list[ParsedSession | Rejection] = []
    for item in items:
        if isinstance(item, Rejection):
            results.append(item)
        elif item.name.lower().endswith(".json"):
            sidecars[_stem(item.name)] = item
        else:
            sessions.append(item)
    for item in sessions:
        sidecar = sidecars.pop(_stem(item.name), None)
        try:
            record = session_parse_one(item.data, name=item.name)
            profile = sidecar_parse(sidecar.data) if sidecar else AccountProfile()
        except SessionFormatError as exc:
            bad = sidecar.name if sidecar and "sidecar" in str(exc) else item.name
            results.append(Rejection(bad, str(exc)))
            continue
        results.append(ParsedSession(item.name, _with_profile(record, profile), profile))
    for orphan in sidecars.values():
        results.append(Rejection(orphan.name, "a JSON sidecar needs its .session file of the same name"))
    return results


def _with_profile(record: SessionRecord, profile: AccountProfile) -> SessionRecord:
    if profile.api_id is None and profile.user_id is None:
        return record
    from dataclasses import replace

    return replace(record, api_id=record.api_id or profile.api_id, user_id=record.user_id or profile.user_id)


def _stem(name: str) -> str:
    base = name.rsplit(".", 1)[0] if "." in posixpath.basename(name) else name
    return base.lower()


def _zip_members(archive: InputFile) -> list[InputFile | Rejection]:
    max_members = settings.SESSION_IMPORT_MAX_ZIP_MEMBERS
    max_total = settings.SESSION_IMPORT_MAX_ZIP_BYTES
    max_file = settings.SESSION_IMPORT_MAX_FILE_BYTES
    try:
        zf = zipfile.ZipFile(io.BytesIO(archive.data))
        infos = [info for info in zf.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        return [Rejection(archive.name, "zip file is corrupted or truncated")]
    if len(infos) > max_members:
        return [Rejection(archive.name, f"zip holds {len(infos)} files, over the {max_members}-file limit")]
    declared = sum(info.file_size for info in infos)
    if declared > max_total:
        return [Rejection(archive.name, f"zip expands to {declared} bytes, over the {max_total}-byte limit")]
    out: list[InputFile | Rejection] = []
    total = 0
    for info in infos:
        label = f"{archive.name}:{info.filename}"
        if _unsafe(info.filename):
            out.append(Rejection(label, "unsafe path inside zip (absolute or with ..)"))
            continue
        if posixpath.basename(info.filename).startswith(".") or info.filename.startswith("__MACOSX/"):
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            out.append(Rejection(label, "symbolic links inside zips are not followed"))
            continue
        if info.file_size > max_file:
            out.append(Rejection(label, f"file is {info.file_size} bytes, over the {max_file}-byte limit"))
            continue
        try:
            with zf.open(info) as member:
                data = member.read(max_file + 1)  # never trust the header's size
        except (zipfile.BadZipFile, RuntimeError, EOFError, ValueError, OSError) as exc:
            reason = "encrypted zip members are not supported" if "encrypted" in str(exc) else "zip member is corrupt"
            out.append(Rejection(label, reason))
            continue
        total += len(data)
        if len(data) > max_file or total > max_total:
            return [
                Rejection(archive.name, f"zip expands past its limits ({max_file} bytes a file, {max_total} in all)")
            ]
        if data.startswith(ZIP_MAGIC):
            out.append(Rejection(label, "zips inside zips are not opened"))
            continue
        out.append(InputFile(label, data))
    return out


def _unsafe(name: str) -> bool:
    normal = name.replace("\\", "/")
    return normal.startswith("/") or (len(normal) > 1 and normal[1] == ":") or ".." in normal.split("/")
