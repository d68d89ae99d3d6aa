"""Session import, export and key rotation."""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import DataError, IntegrityError, transaction

from accounts.models import Team, TelegramAccount
from accounts.services.guard import account_require
from accounts.services.teams import account_grants_for_team, team_for_import
from accounts.sessions import (
    InputFile,
    ParsedSession,
    Rejection,
    SessionRecord,
    pyrogram_sqlite_export,
    pyrogram_string_export,
    sessions_parse,
    telethon_sqlite_export,
    telethon_string_export,
)
from accounts.vault.crypto import VaultKeyError, vault_keys
from accounts.vault.sealed import VaultEntry, reseal, seal, unseal
from accounts.vault.storage import session_storage
from audit.models import Outcome
from audit.services import audit_denied, audit_record
from project.metrics import VAULT_OPERATIONS
from project.redaction import secret_register

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportOutcome:
    name: str
    result: str  # "imported", "duplicate" or "rejected"
    account_id: int | None = None
    reason: str = ""


@dataclass
class ImportReport:
    outcomes: list[ImportOutcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result == result)

    @property
    def summary(self) -> dict[str, int]:
        return {result: self.count(result) for result in ("imported", "duplicate", "rejected")}


def session_import(
    *,
    actor,
    files: Iterable[InputFile],
    team: Team | None = None,
    progress: Callable[[int], None] | None = None,
    parsed_count: Callable[[int], None] | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """Parse, deduplicate by auth key, seal and store each session; one account per new key.

    ``parsed_count`` hears how many sessions the files held (zips expand) before any is stored;
    ``progress`` hears each one done. Each file is stored whole or not at all, and ``report`` (the
    caller's, if given) holds exactly what was stored even when a later file fails unexpectedly.
    """
    if not actor.has_perm("accounts.add_telegramaccount"):
        audit_denied(actor=actor, action="session.import")
        raise PermissionDenied("you may not import sessions")
    team = team_for_import(actor=actor, team=team)
    report = report if report is not None else ImportReport()
    keys = vault_keys()
    storage = session_storage()
    parsed = sessions_parse(files)
    if parsed_count:
        parsed_count(len(parsed))
    known = TelegramAccount.objects.filter(
        auth_key_sha256__in=[p.record.auth_key_sha256 for p in parsed if isinstance(p, ParsedSession)]
    )
    # A duplicate names its account only to those who may see it: no other team's ids leak.
    mine = TelegramAccount.objects.restrict(actor).filter(pk__in=known.values("pk"))
    visible = set(mine.values_list("pk", flat=True))
    seen: dict[str, int | None] = {sha: pk if pk in visible else None for sha, pk in known.values_list(
        "auth_key_sha256", "pk")}  # fmt: skip
    for item in parsed:
        report.outcomes.append(_import_one(actor, item, seen, team, keys, storage))
        if progress:
            progress(1)
    storage.sync_directory()
    # One event for the whole upload too: an import where every file was refused still leaves a trace.
    with transaction.atomic():
        audit_record(actor=actor, action="session.import.upload", target=team,
                     outcome=Outcome.ALLOWED if report.count("imported") else Outcome.FAILED,
                     details={**report.summary, "files": len(report.outcomes)})  # fmt: skip
    VAULT_OPERATIONS.labels("import").inc(report.count("imported"))
    logger.info("Session import by %s: %s", actor, report.summary)
    return report


def _import_one(
    actor, item: ParsedSession | Rejection, seen: dict[str, int | None], team, keys, storage
) -> ImportOutcome:
    if isinstance(item, Rejection):
        return ImportOutcome(item.name, "rejected", reason=item.reason)
    sha = item.record.auth_key_sha256
    if sha in seen:
        return ImportOutcome(item.name, "duplicate", seen[sha], "this auth key is already stored")
    account = _account_from(item, team)
    entry = VaultEntry(item.record, api_hash=item.profile.api_hash, two_fa=item.profile.two_fa)
    try:
        with transaction.atomic():
            account.save()
            if team is not None:
                account_grants_for_team([account], team)
            audit_record(
                actor=actor, action="session.import", target=account,
                details={"file": item.name[-200:], "format": str(item.record.source_format)},
            )  # fmt: skip
            storage.save(account.vault_name, ContentFile(seal(entry, keys)))
    except IntegrityError:
        storage.delete(account.vault_name)
        mine = TelegramAccount.objects.restrict(actor).filter(auth_key_sha256=sha)
        existing = mine.values_list("pk", flat=True).first()
        return ImportOutcome(item.name, "duplicate", existing, "this auth key is already stored")
    except DataError:  # a value the parsers let through but the database cannot hold: this file only
        storage.delete(account.vault_name)
        logger.warning("Import of %s refused by the database (a value out of range)", item.name[-200:])
        return ImportOutcome(item.name, "rejected", reason="a value in this file is out of range for storage")
    except BaseException:
        storage.delete(account.vault_name)
        raise
    seen[sha] = account.pk
    return ImportOutcome(item.name, "imported", account.pk)


def _account_from(item: ParsedSession, team: Team | None) -> TelegramAccount:
    record, profile = item.record, item.profile
    stem = posixpath.basename(item.name.replace(":", "/")).rsplit(".", 1)[0] or "account"
    return TelegramAccount(
        label=(profile.phone or profile.username or stem)[:200],
        phone=profile.phone or "",
        telegram_user_id=record.user_id,
        username=profile.username or "",
        dc_id=record.dc_id,
        test_server=record.test_server,
        team=team,
        api_id=record.api_id,
        has_api_hash=bool(profile.api_hash),
        has_two_fa=bool(profile.two_fa),
        device=profile.device,
        source_format=record.source_format,
        vault_name=TelegramAccount.new_vault_name(),
        auth_key_sha256=record.auth_key_sha256,
    )


def account_vault_entry(account: TelegramAccount) -> VaultEntry:
    """Decrypt an account's session into memory. For checks and exports only; never log the result."""
    storage = session_storage()
    if hasattr(storage, "tighten"):
        storage.tighten(account.vault_name)
    with storage.open(account.vault_name, "rb") as handle:
        blob = handle.read()
    VAULT_OPERATIONS.labels("decrypt").inc()
    try:
        entry = unseal(blob, vault_keys())
    except VaultKeyError as exc:
        raise VaultKeyError(f"account {account.pk}: {exc}") from None
    # From now on this process holds them: whatever logs them by mistake logs "[redacted]".
    secret_register(entry.api_hash)
    secret_register(entry.two_fa)
    return entry


@dataclass(frozen=True)
class SessionExport:
    filename: str
    content: bytes
    content_type: str


EXPORT_FORMATS: dict[str, tuple[str, Callable[[SessionRecord], bytes | str], str]] = {
    "telethon_session": (".session", telethon_sqlite_export, "application/vnd.sqlite3"),
    "telethon_string": (".telethon.txt", telethon_string_export, "text/plain"),
    "pyrogram_session": (".pyrogram.session", pyrogram_sqlite_export, "application/vnd.sqlite3"),
    "pyrogram_string": (".pyrogram.txt", pyrogram_string_export, "text/plain"),
}


def session_export(*, actor, account: TelegramAccount, export_format: str, reason: str = "") -> SessionExport:
    if export_format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {export_format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    account_require(actor=actor, account=account, codename="export_session", action="session.export")
    suffix, exporter, content_type = EXPORT_FORMATS[export_format]
    content = exporter(account_vault_entry(account).record)
    if isinstance(content, str):
        content = content.encode("ascii")
    # The event is written before anything leaves: no event, no export.
    with transaction.atomic():
        audit_record(
            actor=actor, action="session.export", target=account, details={"format": export_format, "reason": reason}
        )
    VAULT_OPERATIONS.labels("export").inc()
    logger.info("Session of account %s exported as %s by %s", account.pk, export_format, actor)
    return SessionExport(f"account-{account.pk}{suffix}", content, content_type)


@dataclass
class RotationReport:
    total: int = 0
    rotated: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)


def vault_rotate(*, actor, progress: Callable[[int], None] | None = None, workers: int = 8) -> RotationReport:
    """Re-encrypt every stored session under the newest key.

    Each file is replaced atomically, and every older key still decrypts, so an
    interrupted run leaves every file readable; running again finishes the job.
    """
    keys = vault_keys()
    if not keys.enabled:
        raise VaultKeyError("encryption is disabled (SESSION_ENCRYPTION_ENABLED=false); nothing to rotate to")
    storage = session_storage()
    report = RotationReport()
    with transaction.atomic():
        audit_record(actor=actor, action="vault.rotate", details={"stage": "start", "keys": keys.key_count})

    def rotate_one(pk_and_name: tuple[int, str]) -> tuple[int, str | None]:
        pk, name = pk_and_name
        try:
            with storage.open(name, "rb") as handle:
                blob = handle.read()
            storage.save(name, ContentFile(reseal(blob, keys)))
        except (VaultKeyError, OSError) as exc:
            return pk, str(exc) if isinstance(exc, VaultKeyError) else f"cannot read or write the file ({exc.strerror})"
        return pk, None

    names = list(TelegramAccount.objects.order_by("pk").values_list("pk", "vault_name"))
    report.total = len(names)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for pk, error in pool.map(rotate_one, names):
            if error:
                report.failed.append((pk, error))
            else:
                report.rotated += 1
            if progress:
                progress(1)
    storage.sync_directory()
    VAULT_OPERATIONS.labels("rotate").inc(report.rotated)
    outcome = Outcome.ALLOWED if not report.failed else Outcome.FAILED
    with transaction.atomic():
        audit_record(
            actor=actor, action="vault.rotate", outcome=outcome,
            details={"stage": "done", "total": report.total, "rotated": report.rotated, "failed": len(report.failed)},
        )  # fmt: skip
    logger.info("Vault rotation: %s of %s rotated, %s failed", report.rotated, report.total, len(report.failed))
    return report
