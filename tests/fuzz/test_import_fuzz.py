"""Hypothesis-made corrupt session files, sidecars and zips through the REST import, as an operator.

Whatever arrives: no 5xx, each file gets its own result (a rejection says why), and exactly what the
report calls imported is stored: one account row and one sealed vault file each, nothing else.
"""

import contextlib
import io
import json
import sqlite3
import stat
import zipfile
from contextlib import closing

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from accounts.models import TelegramAccount
from tests import session_makers as make
from tests.jobs import job_run_as_worker

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]
FUZZ = hypothesis_settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Values SQLite and JSON can hold that a session field must not: wrong types, huge and odd numbers, text.
odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.binary(max_size=300),
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False),
        st.text(max_size=600),
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)
SIDECAR_KEYS = ["app_id", "api_id", "app_hash", "api_hash", "phone", "id", "user_id", "username", "twoFA",
                "device", "sdk", "app_version", "lang_code", "system_lang_code"]  # fmt: skip
member_names = st.one_of(
    st.sampled_from(
        [
            "a.session",
            "a.json",
            "../evil.session",
            "/abs.session",
            "x/../../y.txt",
            "C:/w.session",
            "__MACOSX/._a.session",
            ".hidden.session",
            "dir/",
            "n\u0000ul.session",
        ]
    ),
    st.text(min_size=1, max_size=80).map(lambda t: t + ".session"),
)


def _good_session(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("good") / "good.session"
    return make.telethon_file(path, key=make.random_key()).read_bytes()


@st.composite
def sqlite_sessions(draw) -> bytes:
    """A Telethon-shaped SQLite file whose row holds whatever SQLite lets in."""
    declared = draw(st.sampled_from(["integer", "text", "blob", "", "real"]))
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute(f"CREATE TABLE sessions (dc_id {declared}, server_address text, port integer, auth_key blob)")
        values = [
            draw(odd_values | st.integers(1, 5)),
            draw(odd_values | st.just("149.154.167.51")),
            draw(odd_values | st.just(443)),
            draw(odd_values | st.binary(min_size=256, max_size=256)),
        ]
        with contextlib.suppress(OverflowError, sqlite3.Error, ValueError, UnicodeEncodeError):
            conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", values)  # refused: an empty table
        conn.commit()
        return conn.serialize()


@st.composite
def mangled(draw, good: bytes) -> bytes:
    """A real session file, truncated, with bytes flipped, or with junk appended."""
    how = draw(st.sampled_from(["truncate", "flip", "append"]))
    if how == "truncate":
        return good[: draw(st.integers(0, len(good) - 1))]
    if how == "append":
        return good + draw(st.binary(min_size=1, max_size=200))
    data = bytearray(good)
    for position in draw(st.lists(st.integers(0, len(good) - 1), min_size=1, max_size=20)):
        data[position] ^= draw(st.integers(1, 255))
    return bytes(data)


def _zip(members: list[tuple[str, bytes, bool]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, symlink in members:
            info = zipfile.ZipInfo(name)
            if symlink:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _import(client, files: list[tuple[str, bytes]]) -> tuple[int, dict | None]:
    """The upload's answer, and (when it was taken) its job once a worker has run it."""
    upload = [SimpleUploadedFile(name.replace("\x00", "_")[-100:] or "f", data) for name, data in files]
    response = client.post("/api/v1/accounts/import", {"files": upload}, format="multipart")
    return response.status_code, job_run_as_worker(client, response) if response.status_code == 202 else None


def _assert_exactly_what_was_reported(answer: tuple[int, dict | None], vault, before: int) -> None:
    status, job = answer
    assert status in (202, 400), status
    if status == 400:
        assert TelegramAccount.objects.count() == before
    else:
        assert job["finished"] and (job["state"] == "done" or job["error"])
        results = job["results"]
        for result in results:
            if result["result"] == "rejected":
                assert result["reason"] and "Traceback" not in result["reason"]
        imported = [r["account_id"] for r in results if r["result"] == "imported"]
        assert TelegramAccount.objects.count() == before + len(imported)
    stored = set(TelegramAccount.objects.values_list("vault_name", flat=True))
    on_disk = {p.name for p in vault.iterdir() if p.is_file()} if vault.exists() else set()
    assert on_disk == stored, "a vault file without its account, or the other way round"
    staged = vault / "imports"
    assert not staged.exists() or not any(staged.iterdir()), "an upload left sealed in the vault after its job"


@pytest.fixture
def client(operator) -> APIClient:
    api = APIClient()
    api.force_authenticate(operator)
    return api


def test_sqlite_files_with_any_column_type_and_value(client, vault) -> None:
    @FUZZ
    @given(data=sqlite_sessions())
    def run(data: bytes) -> None:
        before = TelegramAccount.objects.count()
        _assert_exactly_what_was_reported(_import(client, [("f.session", data)]), vault, before)

    run()


def test_real_session_files_truncated_flipped_or_padded(client, vault, tmp_path_factory) -> None:
    good = _good_session(tmp_path_factory)

    @FUZZ
    @given(data=mangled(good))
    def run(data: bytes) -> None:
        before = TelegramAccount.objects.count()
        _assert_exactly_what_was_reported(_import(client, [("f.session", data)]), vault, before)

    run()


def test_sidecars_with_any_keys_and_values(client, vault) -> None:
    @FUZZ
    @given(doc=st.dictionaries(st.sampled_from(SIDECAR_KEYS), json_values, max_size=6) | json_values)
    def run(doc) -> None:
        before = TelegramAccount.objects.count()
        session = make.telethon_string(key=make.random_key()).encode()
        files = [("acc.txt", session), ("acc.json", json.dumps(doc).encode())]
        _assert_exactly_what_was_reported(_import(client, files), vault, before)

    run()


def test_zips_with_traversal_names_symlinks_nesting_and_truncation(client, vault) -> None:
    members = st.lists(
        st.tuples(member_names, st.one_of(st.binary(max_size=400), st.just(b"PK\x03\x04nested"),
                                          st.builds(lambda: make.telethon_string(key=make.random_key()).encode())),
                  st.booleans()),
        min_size=1, max_size=6,
    )  # fmt: skip

    @FUZZ
    @given(members=members, cut=st.none() | st.integers(min_value=0, max_value=2000))
    def run(members, cut) -> None:
        before = TelegramAccount.objects.count()
        archive = _zip(members)
        if cut is not None:
            archive = archive[:cut]
        _assert_exactly_what_was_reported(_import(client, [("upload.zip", archive)]), vault, before)

    run()
