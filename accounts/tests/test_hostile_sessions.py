"""Hostile session files: each attack from the security review, refused by name with nothing stored."""

import json
import sqlite3
import struct
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import JobState, TelegramAccount
from accounts.services.imports import import_job_create, import_job_run
from accounts.sessions import InputFile, SessionFormatError, session_parse_one, sessions_parse
from accounts.sessions.detect import Rejection
from accounts.sessions.sqlite_memory import sqlite_first_row, sqlite_open
from accounts.telegram.endpoint import endpoint_for
from project.celery import app as celery_app
from tests import session_makers as make
from tests.jobs import job_run_as_worker

TELETHON_TABLE = (
    "CREATE TABLE sessions (dc_id integer primary key, server_address text, port integer, auth_key blob,"
    " takeout_id integer, tmp_auth_key blob)"
)


def _sqlite(path: Path, *statements: tuple[str, tuple] | str) -> bytes:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE version (version integer primary key)")
        conn.execute("INSERT INTO version VALUES (8)")
        for statement in statements:
            sql, params = (statement, ()) if isinstance(statement, str) else statement
            conn.execute(sql, params)
    conn.close()
    return path.read_bytes()


def _refused(data: bytes) -> str:
    with pytest.raises(SessionFormatError) as caught:
        session_parse_one(data, name="hostile.session")
    return str(caught.value)


def test_a_sessions_view_over_a_recursive_query_is_refused_at_once(tmp_path) -> None:
    data = _sqlite(
        tmp_path / "view.session",
        "CREATE VIEW sessions (dc_id, server_address, port, auth_key) AS"
        " WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000)"
        " SELECT 2, '149.154.167.51', 443, randomblob(256) FROM c WHERE x = 200000000",
    )
    started = time.monotonic()

    reason = _refused(data)

    assert reason == "SQLite file's sessions is not a plain table"
    assert time.monotonic() - started < 5


def test_a_generated_column_is_refused(tmp_path) -> None:
    data = _sqlite(
        tmp_path / "generated.session",
        "CREATE TABLE sessions (dc_id integer primary key, server_address text, port integer,"
        " auth_key blob GENERATED ALWAYS AS (zeroblob(200000000)) VIRTUAL)",
        "INSERT INTO sessions (dc_id, server_address, port) VALUES (2, '149.154.167.51', 443)",
    )

    assert _refused(data) == "SQLite file's sessions has a generated or hidden column"


def test_a_blob_over_the_length_limit_is_refused_without_reading_it(tmp_path) -> None:
    data = _sqlite(
        tmp_path / "huge.session",
        TELETHON_TABLE,
        ("INSERT INTO sessions VALUES (2, '149.154.167.51', 443, ?, NULL, NULL)", (b"\x01" * 2_000_000,)),
    )

    assert _refused(data) == "SQLite file holds a value over 65536 bytes (refused)"


def test_work_past_the_step_budget_is_aborted(tmp_path) -> None:
    data = make.telethon_file(tmp_path / "good.session", key=make.random_key()).read_bytes()
    conn = sqlite_open(data)
    started = time.monotonic()

    with pytest.raises(SessionFormatError, match="needs too much work"):
        sqlite_first_row(conn, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c")

    assert time.monotonic() - started < 5
    conn.close()


def test_columns_of_the_wrong_declared_type_are_refused(tmp_path) -> None:
    data = _sqlite(
        tmp_path / "typed.session",
        "CREATE TABLE sessions (dc_id text, server_address text, port integer, auth_key blob)",
        ("INSERT INTO sessions VALUES ('2', '149.154.167.51', 443, ?)", (make.random_key(),)),
    )

    assert _refused(data) == "Telethon session's dc_id column is TEXT, not INTEGER"


@pytest.mark.parametrize(
    ("dc_id", "port", "expected"),
    [
        ("abc", 443, "Telethon session's dc_id must be a whole number, not str"),
        (None, 443, "Telethon session's dc_id must be a whole number, not NoneType"),
        (2, "443abc", "Telethon session's port must be a whole number, not str"),
        (2, 9e999, "Telethon session's port must be a whole number, not float"),
    ],
)
def test_values_of_the_wrong_stored_type_are_refused_by_name(tmp_path, dc_id, port, expected) -> None:
    data = _sqlite(
        tmp_path / "values.session",
        "CREATE TABLE sessions (dc_id integer, server_address text, port integer, auth_key blob)",
        ("INSERT INTO sessions VALUES (?, '149.154.167.51', ?, ?)", (dc_id, port, make.random_key())),
    )

    assert _refused(data) == expected


@pytest.mark.parametrize("address", ["dc2.example", "149.154.167.51 ", "1" * 60_000, "::1%" + "e" * 100])
def test_a_server_address_that_is_not_an_ip_address_is_refused(tmp_path, address) -> None:
    data = _sqlite(
        tmp_path / "address.session",
        TELETHON_TABLE,
        ("INSERT INTO sessions (dc_id, server_address, port, auth_key) VALUES (2, ?, 443, ?)",
         (address, make.random_key())),
    )  # fmt: skip

    assert _refused(data) == "server address is not an IP address"


def test_a_pyrogram_api_id_beyond_telegrams_int_is_refused() -> None:
    import base64

    packed = struct.pack(">BI?256sQ?", 2, 3_000_000_000, False, make.random_key(), 777, False)
    text = base64.urlsafe_b64encode(packed).decode().rstrip("=")

    assert _refused(text.encode()) == "Pyrogram session's api_id 3000000000 is out of range (1-2147483647)"


@pytest.mark.parametrize(
    ("sidecar", "expected"),
    [
        ({"username": "u" * 500}, "JSON sidecar's username is not a Telegram username (1-32 letters, digits, _)"),
        ({"app_id": 99999999999}, "JSON sidecar's app_id is out of range (1-2147483647)"),
        ({"id": 2**63}, "JSON sidecar's id is out of range (1-9007199254740991)"),
        ({"user_id": "1e3"}, "JSON sidecar's user_id must be a whole number"),
        ({"twoFA": "p" * 5000}, "JSON sidecar's twoFA is over 1024 characters"),
    ],
)
def test_sidecar_fields_out_of_range_are_refused_by_name(tmp_path, sidecar, expected) -> None:
    session = make.telethon_file(tmp_path / "acc.session", key=make.random_key()).read_bytes()

    [result] = sessions_parse([InputFile("acc.session", session), InputFile("acc.json", json.dumps(sidecar).encode())])

    assert result == Rejection("acc.json", expected)


def test_a_dc_outside_telegrams_table_is_refused_at_import() -> None:
    text = make.telethon_string(key=make.random_key(), dc_id=9, address="169.254.169.254")

    assert _refused(text.encode()) == "DC id 9 is not a Telegram data centre (1-5)"


def test_a_check_dials_the_dc_table_never_the_address_in_the_file(settings) -> None:
    settings.TELEGRAM_SERVER_ADDRESS = None
    settings.TELEGRAM_TEST_SERVERS = False
    text = make.telethon_string(key=make.random_key(), dc_id=2, address="169.254.169.254")

    endpoint = endpoint_for(session_parse_one(text.encode(), name="s"))

    assert (endpoint.host, endpoint.port, endpoint.dc_id) == ("149.154.167.51", 443, 2)


def _bad_username_pair(tmp_path: Path) -> list[SimpleUploadedFile]:
    session = make.telethon_file(tmp_path / "bad.session", key=make.random_key()).read_bytes()
    return [
        SimpleUploadedFile("bad.session", session),
        SimpleUploadedFile("bad.json", json.dumps({"username": "u" * 500}).encode()),
    ]


@pytest.mark.django_db
def test_a_rest_upload_with_one_bad_file_stores_exactly_the_good_ones(vault, operator, tmp_path) -> None:
    good = [SimpleUploadedFile(f"g{i}.txt", make.telethon_string(key=make.random_key()).encode()) for i in range(3)]
    client = APIClient()
    client.force_authenticate(operator)

    response = client.post(
        "/api/v1/accounts/import", {"files": [good[0], good[1], *_bad_username_pair(tmp_path), good[2]]},
        format="multipart",
    )  # fmt: skip
    job = job_run_as_worker(client, response)

    assert job["summary"] == {"imported": 3, "duplicate": 0, "rejected": 1}
    stored = {r["account_id"] for r in job["results"] if r["result"] == "imported"}
    assert set(TelegramAccount.objects.values_list("pk", flat=True)) == stored
    assert sorted(p.name for p in vault.iterdir() if p.is_file()) == sorted(
        TelegramAccount.objects.values_list("vault_name", flat=True)
    )


@pytest.mark.django_db
def test_a_console_import_with_one_bad_file_reports_exactly_what_was_stored(vault, operator, tmp_path) -> None:
    session = make.telethon_file(tmp_path / "bad.session", key=make.random_key()).read_bytes()
    files = [
        InputFile("a.txt", make.telethon_string(key=make.random_key()).encode()),
        InputFile("bad.session", session),
        InputFile("bad.json", json.dumps({"app_id": 99999999999}).encode()),
        InputFile("b.txt", make.telethon_string(key=make.random_key()).encode()),
    ]
    job = import_job_create(actor=operator, files=files)

    job = import_job_run(str(job.pk))

    assert job.state == JobState.DONE
    assert sorted((r["name"], r["result"]) for r in job.results) == [
        ("a.txt", "imported"),
        ("b.txt", "imported"),
        ("bad.json", "rejected"),
    ]
    assert set(TelegramAccount.objects.values_list("pk", flat=True)) == {
        r["account_id"] for r in job.results if r["result"] == "imported"
    }


def test_every_task_has_a_soft_and_a_hard_time_limit() -> None:
    celery_app.loader.import_default_modules()
    ours = {name: task for name, task in celery_app.tasks.items() if not name.startswith("celery.")}
    assert "accounts.import_run" in ours
    for name, task in ours.items():
        soft = task.soft_time_limit or celery_app.conf.task_soft_time_limit
        hard = task.time_limit or celery_app.conf.task_time_limit
        assert soft and hard and soft < hard, name


def test_a_symlink_inside_a_zip_is_refused_by_name() -> None:
    import io
    import stat
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("vault.session")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")

    assert sessions_parse([InputFile("up.zip", buffer.getvalue())]) == [
        Rejection("up.zip:vault.session", "symbolic links inside zips are not followed")
    ]


@pytest.mark.django_db
def test_an_import_resumed_after_its_worker_was_lost_reports_each_file_once(vault, operator, blue_team) -> None:
    from django.utils import timezone

    from accounts.models import Job
    from accounts.services import session_import

    a, b = (make.telethon_string(key=make.random_key()).encode() for _ in range(2))
    files = [InputFile("a.txt", a), InputFile("b.txt", b), InputFile("a-again.txt", a)]
    job = import_job_create(actor=operator, files=files)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, started_at=timezone.now())
    session_import(actor=operator, files=[files[0]], team=blue_team)  # what the lost attempt had stored

    job = import_job_run(str(job.pk))

    assert job.state == JobState.DONE
    assert sorted((r["name"], r["result"]) for r in job.results) == [
        ("a-again.txt", "duplicate"), ("a.txt", "imported"), ("b.txt", "imported")]  # fmt: skip
    assert TelegramAccount.objects.count() == 2
