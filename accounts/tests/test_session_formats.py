"""Every supported format parses to one record, exports back, and bad input is named and refused."""

import base64
import io
import json
import os
import sqlite3
import zipfile

import pytest
from telethon.sessions import SQLiteSession, StringSession

from accounts.sessions import (
    InputFile,
    ParsedSession,
    Rejection,
    SessionFormat,
    SessionFormatError,
    session_parse_one,
    sessions_parse,
    telethon_sqlite_export,
    telethon_string_export,
)
from accounts.sessions.pyrogram_format import pyrogram_sqlite_export, pyrogram_string_export
from tests import session_makers as make

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def key() -> bytes:
    return make.random_key()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_telethon_current_schema_parses(tmp_path, key) -> None:
    record = session_parse_one(make.telethon_file(tmp_path / "a.session", key=key).read_bytes(), name="a.session")

    assert (record.dc_id, record.server_address, record.port, record.auth_key) == (2, "149.154.167.51", 443, key)
    assert record.source_format == SessionFormat.TELETHON_SQLITE


def test_telethon_previous_schema_parses(tmp_path, key) -> None:
    data = make.telethon_file_v7(tmp_path / "old.session", key=key, dc_id=4, address="149.154.167.91").read_bytes()

    record = session_parse_one(data, name="old.session")

    assert (record.dc_id, record.server_address, record.auth_key) == (4, "149.154.167.91", key)


def test_telethon_string_session_parses_ipv4_and_ipv6(key) -> None:
    v4 = session_parse_one(make.telethon_string(key=key).encode(), name="s")
    v6 = session_parse_one(make.telethon_string(key=key, address="2001:67c:4e8:f002::a").encode(), name="s6")

    assert (v4.server_address, v4.auth_key) == ("149.154.167.51", key)
    assert (v6.server_address, v6.auth_key, v6.source_format) == ("2001:67c:4e8:f002::a", key, "telethon_string")


def test_pyrogram_file_and_string_parse_with_their_dc_address(tmp_path, key) -> None:
    from_file = session_parse_one(make.pyrogram_file(tmp_path, "p", key=key).read_bytes(), name="p.session")
    from_string = session_parse_one(make.pyrogram_string(key=key).encode(), name="p.txt")

    for record in (from_file, from_string):
        assert (record.dc_id, record.server_address, record.port, record.auth_key) == (4, "149.154.167.91", 443, key)
        assert (record.api_id, record.user_id, record.test_server) == (12345, 777000111, False)
    assert from_file.source_format == SessionFormat.PYROGRAM_SQLITE
    assert from_string.source_format == SessionFormat.PYROGRAM_STRING


def test_a_session_and_its_json_sidecar_become_one_account(tmp_path, key) -> None:
    sidecar = {
        "app_id": 2040,
        "app_hash": "b18441a1ff607e10a989891a5462e627",
        "device": "Desktop",
        "sdk": "Windows 10",
        "app_version": "4.16.8 x64",
        "lang_pack": "tdesktop",
        "system_lang_pack": "en-US",
        "phone": "14155550123",
        "id": 5550123,
        "twoFA": "hunter2-secret",
    }
    session = make.telethon_file(tmp_path / "14155550123.session", key=key).read_bytes()

    [parsed] = sessions_parse(
        [InputFile("14155550123.session", session), InputFile("14155550123.json", json.dumps(sidecar).encode())]
    )

    assert isinstance(parsed, ParsedSession)
    assert (parsed.record.api_id, parsed.record.user_id) == (2040, 5550123)
    assert parsed.profile.phone == "+14155550123"
    assert parsed.profile.api_hash == "b18441a1ff607e10a989891a5462e627"
    assert parsed.profile.two_fa == "hunter2-secret"
    assert parsed.profile.device["app_version"] == "4.16.8 x64"
    assert "hunter2" not in repr(parsed)


def test_a_zip_of_mixed_formats_parses_each_member(tmp_path) -> None:
    keys = [make.random_key() for _ in range(4)]
    archive = _zip(
        {
            "fleet/a.session": make.telethon_file(tmp_path / "a.session", key=keys[0]).read_bytes(),
            "fleet/b.txt": make.telethon_string(key=keys[1]).encode(),
            "fleet/c.session": make.pyrogram_file(tmp_path, "c", key=keys[2]).read_bytes(),
            "fleet/d.txt": make.pyrogram_string(key=keys[3]).encode(),
        }
    )

    results = sessions_parse([InputFile("fleet.zip", archive)])

    assert [r.record.auth_key for r in results if isinstance(r, ParsedSession)] == keys
    assert results[0].name == "fleet.zip:fleet/a.session"


def test_telethon_sqlite_export_is_opened_by_telethon(tmp_path, key) -> None:
    record = session_parse_one(make.telethon_string(key=key, dc_id=3, address="149.154.175.100").encode(), name="s")
    exported = tmp_path / "exported.session"
    exported.write_bytes(telethon_sqlite_export(record))

    session = SQLiteSession(str(exported))

    assert (session.dc_id, session.server_address, session.port, session.auth_key.key) == (
        3,
        "149.154.175.100",
        443,
        key,
    )
    session.close()


def test_telethon_string_export_is_opened_by_telethon(tmp_path, key) -> None:
    record = session_parse_one(make.telethon_file(tmp_path / "x.session", key=key).read_bytes(), name="x")

    session = StringSession(telethon_string_export(record))

    assert (session.dc_id, session.server_address, session.port, session.auth_key.key) == (
        2,
        "149.154.167.51",
        443,
        key,
    )


def test_pyrogram_exports_are_opened_by_pyrogram(tmp_path, key) -> None:
    record = session_parse_one(make.pyrogram_file(tmp_path, "p", key=key).read_bytes(), name="p")

    from_string = make.pyrogram_string_read(pyrogram_string_export(record))
    reparsed = session_parse_one(pyrogram_sqlite_export(record), name="again")

    assert from_string == {"dc_id": 4, "api_id": 12345, "test_mode": False, "auth_key": key, "user_id": 777000111}
    assert (reparsed.dc_id, reparsed.auth_key, reparsed.user_id) == (4, key, 777000111)


def _other_schema() -> bytes:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE notes (id integer primary key, body text)")
    conn.execute("INSERT INTO notes VALUES (1, 'hello')")
    conn.commit()
    return conn.serialize()


def _bad_inputs(tmp_path) -> dict[str, tuple[bytes, str]]:
    good = make.telethon_file(tmp_path / "good.session", key=make.random_key()).read_bytes()
    short_key = make.telethon_file(tmp_path / "short.session", key=os.urandom(255)).read_bytes()
    corrupted = good[:100] + os.urandom(len(good) - 100)
    string = make.telethon_string(key=make.random_key())
    return {
        "random bytes": (os.urandom(4096), "neither SQLite nor a session string"),
        "empty": (b"", "file is empty"),
        "another schema": (_other_schema(), "unknown schema"),
        "truncated": (good[: len(good) // 3], "corrupted or truncated"),
        "corrupted": (corrupted, "corrupted or truncated"),
        "short auth key": (short_key, "auth key is 255 bytes"),
        "string with bad base64": ((string[:100] + "!!!!" + string[104:]).encode(), "bad base64"),
        "string of the wrong length": (string[:-10].encode(), "text of 343 characters"),
        "pyrogram string with bad base64": (("*" * 362).encode(), "bad base64"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "random bytes",
        "empty",
        "another schema",
        "truncated",
        "corrupted",
        "short auth key",
        "string with bad base64",
        "string of the wrong length",
        "pyrogram string with bad base64",
    ],
)
def test_bad_input_is_rejected_with_a_reason(tmp_path, case) -> None:
    data, reason = _bad_inputs(tmp_path)[case]

    [result] = sessions_parse([InputFile(f"{case}.session", data)])

    assert isinstance(result, Rejection)
    assert result.name == f"{case}.session"
    assert reason in result.reason


def test_a_malformed_json_sidecar_names_the_json_file(tmp_path) -> None:
    session = make.telethon_file(tmp_path / "a.session", key=make.random_key()).read_bytes()

    [result] = sessions_parse([InputFile("a.session", session), InputFile("a.json", b'{"app_id": 1,')])

    assert result == Rejection("a.json", "JSON sidecar is not valid JSON at line 1 column 14")


@pytest.mark.parametrize(
    ("sidecar", "reason"),
    [
        ({"app_hash": "nothex"}, "app_hash must be 32 hexadecimal characters"),
        ({"app_id": "twelve"}, "app_id must be a whole number"),
        ({"phone": "call me"}, "phone is not a phone number"),
        (["a", "list"], "must be an object"),
    ],
)
def test_sidecar_fields_are_checked(tmp_path, sidecar, reason) -> None:
    session = make.telethon_file(tmp_path / "a.session", key=make.random_key()).read_bytes()

    [result] = sessions_parse([InputFile("a.session", session), InputFile("a.json", json.dumps(sidecar).encode())])

    assert isinstance(result, Rejection) and reason in result.reason


def test_a_json_without_its_session_is_rejected() -> None:
    [result] = sessions_parse([InputFile("lonely.json", b"{}")])

    assert result == Rejection("lonely.json", "a JSON sidecar needs its .session file of the same name")


def test_zip_members_with_unsafe_paths_are_rejected_and_the_rest_imported(tmp_path) -> None:
    key = make.random_key()
    archive = _zip(
        {
            "../escape.session": make.telethon_string(key=make.random_key()).encode(),
            "/etc/absolute.session": make.telethon_string(key=make.random_key()).encode(),
            "ok.txt": make.telethon_string(key=key).encode(),
        }
    )

    results = sessions_parse([InputFile("mixed.zip", archive)])

    rejected = {r.name: r.reason for r in results if isinstance(r, Rejection)}
    assert rejected == {
        "mixed.zip:../escape.session": "unsafe path inside zip (absolute or with ..)",
        "mixed.zip:/etc/absolute.session": "unsafe path inside zip (absolute or with ..)",
    }
    assert [r.record.auth_key for r in results if isinstance(r, ParsedSession)] == [key]


def test_a_zip_bomb_is_refused_before_it_expands(settings) -> None:
    settings.SESSION_IMPORT_MAX_ZIP_BYTES = 1024 * 1024
    bomb = _zip({"zeros.session": b"\0" * (8 * 1024 * 1024)})

    [result] = sessions_parse([InputFile("bomb.zip", bomb)])

    assert len(bomb) < 64 * 1024
    assert result == Rejection("bomb.zip", "zip expands to 8388608 bytes, over the 1048576-byte limit")


def test_a_zip_member_that_lies_about_its_size_is_cut_off(settings) -> None:
    settings.SESSION_IMPORT_MAX_FILE_BYTES = 4096
    archive = bytearray(_zip({"big.session": b"\0" * 100_000}))
    # Rewrite both size fields to claim 100 bytes; the reader must not trust them.
    local = archive.index(b"PK\x03\x04")
    central = archive.index(b"PK\x01\x02")
    archive[local + 22 : local + 26] = (100).to_bytes(4, "little")
    archive[central + 24 : central + 28] = (100).to_bytes(4, "little")

    [result] = sessions_parse([InputFile("liar.zip", bytes(archive))])

    assert isinstance(result, Rejection)
    assert result.name.startswith("liar.zip")


def test_an_oversize_file_is_refused(settings) -> None:
    settings.SESSION_IMPORT_MAX_FILE_BYTES = 2048

    [result] = sessions_parse([InputFile("huge.session", b"SQLite format 3\x00" + b"\0" * 4096)])

    assert result == Rejection("huge.session", "file is 4112 bytes, over the 2048-byte limit")


def test_a_corrupt_zip_is_named() -> None:
    [result] = sessions_parse([InputFile("broken.zip", b"PK\x03\x04" + os.urandom(200))])

    assert result == Rejection("broken.zip", "zip file is corrupted or truncated")


def test_errors_never_carry_the_key(tmp_path) -> None:
    key_text = make.CANARY_KEY
    bad = make.telethon_file(tmp_path / "c.session", key=key_text[:255]).read_bytes()

    with pytest.raises(SessionFormatError) as caught:
        session_parse_one(bad, name="c.session")

    message = str(caught.value)
    assert "CANARY" not in message
    assert base64.b64encode(key_text[:255]).decode()[:40] not in message
    assert key_text[:255].hex()[:40] not in message
