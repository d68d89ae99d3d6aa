"""An intruder with the database cannot rewrite or cut the trail undetected: keyed chain, head, checkpoints."""

import hashlib
import importlib
import json
import secrets
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from alerts.models import Alert, Notification
from audit.chain import HASHED_FIELDS, ChainHasher, event_canonical
from audit.checkpoints import CheckpointError, audit_checkpoint_write, audit_checkpoints_verify
from audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from audit.services import AuditUnavailableError, audit_record
from audit.tasks import audit_checkpoint_task
from audit.verify import audit_chain_verify
from conftest import SYSTEM
from tests.processes import clean_env, manage
from tests.services import database_url, requirement_missing, service_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


@pytest.fixture
def checkpoints(settings, tmp_path) -> Path:
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "checkpoints.jsonl"
    return settings.AUDIT_CHECKPOINT_FILE


def _events(count: int) -> None:
    for i in range(count):
        audit_record(actor=SYSTEM, action="test.event", target_text=f"event {i}", details={"i": i})


def _raw(*statements: tuple[str, tuple] | str) -> None:
    """What an intruder with the app's database does (on PostgreSQL, as an owner: the trigger goes off first)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_append_only")
        for statement in statements:
            sql, params = (statement, ()) if isinstance(statement, str) else statement
            cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_append_only")


def _rechain(hash_of) -> None:
    """Recompute every hash and the head from the rows as they now are, the way an intruder would."""
    prev, statements = GENESIS_HASH, []
    for row in AuditEvent.objects.order_by("sequence").values_list("pk", *HASHED_FIELDS):
        fields = dict(zip(HASHED_FIELDS, row[1:], strict=True))
        digest = hash_of(prev, fields)
        update = "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s"
        statements.append((update, (prev, digest, row[0])))
        prev = digest
    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
    statements.append(("UPDATE audit_auditchainhead SET sequence = %s, hash = %s WHERE id = 1", (last, prev)))
    _raw(*statements)


def _sha256(prev: str, fields: dict) -> str:
    return hashlib.sha256(prev.encode("ascii") + b"\n" + event_canonical(fields)).hexdigest()


def test_an_event_edited_and_rechained_without_the_key_does_not_verify() -> None:
    _events(10)
    _raw("UPDATE audit_auditevent SET target_text = 'innocent' WHERE sequence = 4")

    _rechain(_sha256)
    bare = audit_chain_verify().problem
    _rechain(ChainHasher(b"a guessed key that is not the chain key").event_hash)
    guessed = audit_chain_verify().problem

    assert bare == guessed == "event #1 was changed after it was written (or not under this key)"


def test_the_same_rewrite_with_the_key_verifies_which_is_why_the_key_is_not_in_the_database() -> None:
    _events(5)
    _raw("UPDATE audit_auditevent SET target_text = 'innocent' WHERE sequence = 2")

    _rechain(ChainHasher().event_hash)

    assert audit_chain_verify().problem is None
    stored = json.dumps(list(AuditEvent.objects.values_list("details", flat=True))).encode()
    assert settings.AUDIT_CHAIN_KEY not in stored


def test_a_deleted_head_is_an_error_and_nothing_more_is_recorded(capsys) -> None:
    _events(3)
    _raw("DELETE FROM audit_auditchainhead")

    with pytest.raises(SystemExit):
        call_command("verify_audit")
    with pytest.raises(AuditUnavailableError, match="head is missing"):
        audit_record(actor=SYSTEM, action="test.after")

    assert "the chain head is missing" in capsys.readouterr().err
    assert AuditEvent.objects.count() == 3


def test_deleting_everything_does_not_verify() -> None:
    _events(5)

    _raw("DELETE FROM audit_auditevent", "DELETE FROM audit_auditchainhead")

    assert audit_chain_verify().problem == "the chain head is missing (the trail was deleted or never set up)"


def test_deleting_everything_and_resetting_the_head_is_caught_by_a_checkpoint(checkpoints) -> None:
    _events(5)
    assert audit_checkpoint_write().sequence == 5

    _raw("DELETE FROM audit_auditevent", ("UPDATE audit_auditchainhead SET sequence = 0, hash = %s", (GENESIS_HASH,)))

    assert audit_chain_verify().problem is None  # the database alone cannot tell
    gone = f"event #5, checkpointed at {_at(checkpoints, 0)}, is gone (the trail was cut)"
    assert audit_checkpoints_verify() == (1, gone)


def test_cutting_the_newest_events_and_moving_the_head_back_is_caught_by_a_checkpoint(checkpoints, capsys) -> None:
    _events(8)
    audit_checkpoint_write()
    _events(2)
    audit_checkpoint_write()
    cut = AuditEvent.objects.get(sequence=7)

    _raw("DELETE FROM audit_auditevent WHERE sequence > 7",
         ("UPDATE audit_auditchainhead SET sequence = 7, hash = %s", (cut.hash,)))  # fmt: skip

    call_command("verify_audit")  # the chain itself is whole
    with pytest.raises(SystemExit):
        call_command("verify_audit", "--checkpoints")
    assert f"event #8, checkpointed at {_at(checkpoints, 0)}, is gone" in capsys.readouterr().err


def test_a_rewrite_before_a_checkpoint_is_caught_even_with_the_key(checkpoints) -> None:
    _events(6)
    audit_checkpoint_write()

    _raw("UPDATE audit_auditevent SET target_text = 'innocent' WHERE sequence = 2")
    _rechain(ChainHasher().event_hash)

    assert audit_chain_verify().problem is None
    assert audit_checkpoints_verify()[1] == f"event #6 differs from its checkpoint of {_at(checkpoints, 0)} (rewritten)"


def test_an_edited_checkpoint_line_is_refused(checkpoints) -> None:
    _events(4)
    audit_checkpoint_write()
    doc = json.loads(checkpoints.read_text())

    checkpoints.write_text(json.dumps({**doc, "sequence": 2}) + "\n")

    assert audit_checkpoints_verify() == (0, f"{checkpoints} line 1 is not signed under this AUDIT_CHAIN_KEY")


def test_checkpoints_are_written_only_when_the_head_moved_and_only_over_a_trail_that_verifies(checkpoints) -> None:
    _events(3)
    first = audit_checkpoint_write()
    again = audit_checkpoint_write()
    _raw("UPDATE audit_auditevent SET target_text = 'x' WHERE sequence = 3")
    _events(1)

    with pytest.raises(CheckpointError, match="event #3 was changed"):
        audit_checkpoint_write()

    assert (first.sequence, again) == (3, None)
    assert len(checkpoints.read_text().splitlines()) == 1
    assert oct(checkpoints.stat().st_mode & 0o777) == "0o600"


def test_the_checkpoint_job_announces_in_the_alert_chat_and_alerts_when_the_trail_breaks(checkpoints, bot) -> None:
    from alerts.delivery import deliver_sweep

    _events(2)
    assert audit_checkpoint_task() == 2
    deliver_sweep(budget_seconds=10)
    _raw("DELETE FROM audit_auditevent WHERE sequence = 1")

    assert audit_checkpoint_task() == 0

    texts = [m.text for m in bot.received]
    assert any("audit trail checkpoint: #2" in text for text in texts)
    assert Alert.objects.get(kind="audit.broken").state == "firing"
    assert Notification.objects.filter(alert__kind="audit.checkpoint", event="notice").count() == 1


def test_an_old_unkeyed_chain_is_rechained_under_the_key_once_verified() -> None:
    migration = importlib.import_module("audit.migrations.0004_keyed_chain")
    _events(4)
    old = _rechain_and_return_head(_sha256)

    with connection.schema_editor() as editor:
        migration.forwards(_historical_apps(), editor)

    assert audit_chain_verify().problem is None
    last = AuditEvent.objects.get(sequence=5)
    assert (last.action, last.details) == ("audit.chain_keyed", {"rechained": 4, "unkeyed_head": old})


def test_an_old_chain_that_does_not_verify_is_not_laundered_by_the_rechain() -> None:
    migration = importlib.import_module("audit.migrations.0004_keyed_chain")
    _events(4)
    _rechain(_sha256)
    _raw("UPDATE audit_auditevent SET target_text = 'innocent' WHERE sequence = 3")
    before = list(AuditEvent.objects.order_by("sequence").values_list("hash", flat=True))

    with pytest.raises(RuntimeError, match=r"does not verify as written \(event #3\)"), connection.schema_editor() as e:
        migration.forwards(_historical_apps(), e)

    assert list(AuditEvent.objects.order_by("sequence").values_list("hash", flat=True)) == before


def test_the_app_role_can_append_but_cannot_touch_the_trail_or_its_trigger(settings, tmp_path) -> None:
    service_url("DATABASE_URL")
    if connection.vendor != "postgresql":
        requirement_missing("database roles need PostgreSQL (DATABASE_URL names SQLite)")
    import psycopg

    role, password = "tgfleet_app_test", "pw@:/ " + secrets.token_hex(8)  # characters a URL must quote
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        verb = "ALTER" if cursor.fetchone() else "CREATE"
        cursor.execute(f"{verb} ROLE {role} LOGIN PASSWORD %s", [password])
    call_command("db_grant_app_role", "--role", role)
    _events(3)
    env = clean_env(DATABASE_URL=database_url(role, password), DATA_DIR=str(tmp_path / "app"),
                    AUDIT_CHAIN_KEY=settings.AUDIT_CHAIN_KEY.decode())  # fmt: skip
    script = "from audit.services import audit_record; from project.actors import SystemActor; " \
             "audit_record(actor=SystemActor('app'), action='test.as_app')"  # fmt: skip

    appended = manage("shell", "-c", script, env=env, timeout=60)
    verified = manage("verify_audit", env=env, timeout=60)

    assert appended.returncode == 0, appended.stderr
    assert verified.returncode == 0 and "4 events verified" in verified.stdout, verified.stderr
    refused = []
    with psycopg.connect(database_url(role, password), autocommit=True) as app:
        for attack in ("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_append_only",
                       "DROP TRIGGER audit_append_only ON audit_auditevent",
                       "UPDATE audit_auditevent SET target_text = 'x'", "DELETE FROM audit_auditevent",
                       "TRUNCATE audit_auditevent", "DELETE FROM audit_auditchainhead",
                       "CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS 'BEGIN RETURN NEW; END'"
                       " LANGUAGE plpgsql"):  # fmt: skip
            try:
                app.execute(attack)
            except psycopg.errors.InsufficientPrivilege:
                refused.append(attack.split()[0])
    assert refused == ["ALTER", "DROP", "UPDATE", "DELETE", "TRUNCATE", "DELETE", "CREATE"]
    assert audit_chain_verify().problem is None


def _historical_apps():
    """The models as migration 0004 sees them (plain managers), not today's append-only ones."""
    return MigrationExecutor(connection).loader.project_state(("audit", "0003_filter_indexes")).apps


def _rechain_and_return_head(hash_of) -> str:
    _rechain(hash_of)
    return AuditChainHead.objects.get(pk=1).hash


def _at(path: Path, line: int) -> str:
    return json.loads(path.read_text().splitlines()[line])["at"]


@pytest.fixture
def parallel_from_any_length(monkeypatch):
    """Verify in parallel however short the trail (the threshold only saves process start-up on short ones)."""
    from audit import verify

    if connection.vendor != "postgresql":
        requirement_missing("verification runs in parallel on PostgreSQL only (DATABASE_URL names SQLite)")
    monkeypatch.setattr(verify, "PARALLEL_FROM", 0)


@pytest.mark.parametrize(
    "tamper",
    [
        "",  # intact: the same report as one pass
        "UPDATE audit_auditevent SET target_text = 'x' WHERE sequence = 20",  # inside the second run
        "DELETE FROM audit_auditevent WHERE sequence = 14",  # the first event of the second run (runs of 13)
        "DELETE FROM audit_auditevent WHERE sequence = 13",  # the last event of the first run
        "DELETE FROM audit_auditevent WHERE sequence BETWEEN 10 AND 30",  # a whole run and more
        "UPDATE audit_auditevent SET prev_hash = hash WHERE sequence = 27",  # a run's first link
        "DELETE FROM audit_auditevent WHERE sequence >= 36",  # the end cut off
    ],
)
def test_verifying_in_parallel_answers_exactly_as_one_pass(parallel_from_any_length, tamper: str) -> None:
    _events(39)
    if tamper:
        _raw(tamper)

    one_pass, parallel = audit_chain_verify(), audit_chain_verify(jobs=3)

    assert parallel == one_pass
    assert (parallel.problem is None) == (not tamper) and (parallel.checked == 39 or tamper)


@pytest.mark.parametrize("jobs", ["0", "65", "two"])
def test_verify_audit_refuses_a_bad_jobs_count_by_name(jobs: str) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--jobs must be"):
        call_command("verify_audit", "--jobs", jobs)
