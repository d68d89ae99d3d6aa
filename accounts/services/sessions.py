"""Session import, export and key rotation."""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import DataError, IntegrityError, transaction

from accounts.models import Proxy, Team, TelegramAccount
from accounts.services.guard import account_require
from accounts.services.proxies import proxy_get_or_create
from accounts.services.teams import team_for_import
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
from accounts.telegram.identities import identity_for
from accounts.telegram.proxy_url import ProxySpec
from accounts.vault.crypto import VaultKeyError, vault_keys
from accounts.vault.sealed import VaultEntry, reseal, seal, unseal
from accounts.vault.storage import session_storage, vault_save_many
from audit.models import Outcome
from audit.services import AuditEntry, audit_denied, audit_record, audit_record_many
from project.metrics import VAULT_OPERATIONS
from project.redaction import secret_register

logger = logging.getLogger(__name__)
DECRYPTS = VAULT_OPERATIONS.labels("decrypt")  # bound once: a check batch decrypts hundreds
IMPORT_CHUNK = 500  # files per transaction on import


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
    proxy: ProxySpec | None = None,
) -> ImportReport:
    """Parse, deduplicate by auth key, seal and store each session; one account per new key.

    Each account keeps the proxy its sidecar names, else ``proxy`` (import_sessions --proxy), else none; a proxy
    not yet known is added for the import's team. An account without an app identity of its own gets a real
    app's (accounts.telegram.identities), pinned from then on.

    ``parsed_count`` hears how many sessions the files held (zips expand) before any is stored;
    ``progress`` hears how many are done, chunk by chunk. The files go in chunks of IMPORT_CHUNK, each in one
    transaction (accounts inserted together, their events appended under one lock of the audit chain): a chunk is
    stored whole or not at all, and ``report`` (the caller's, if given) holds exactly what was stored even when a
    later chunk fails unexpectedly.
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
    proxies = _ProxiesForImport(actor, team, proxy)
    for start in range(0, len(parsed), IMPORT_CHUNK):
        chunk = parsed[start : start + IMPORT_CHUNK]
        report.outcomes.extend(_import_chunk(actor, chunk, seen, team, keys, storage, proxies))
        if progress:
            progress(len(chunk))
    storage.sync_directory()
    # One event for the whole upload too: an import where every file was refused still leaves a trace.
    with transaction.atomic():
        audit_record(actor=actor, action="session.import.upload", target=team,
                     outcome=Outcome.ALLOWED if report.count("imported") else Outcome.FAILED,
                     details={**report.summary, "files": len(report.outcomes)})  # fmt: skip
    VAULT_OPERATIONS.labels("import").inc(report.count("imported"))
    logger.info("Session import by %s: %s", actor, report.summary)
    return report


def _import_chunk(
    actor, items: list[ParsedSession | Rejection], seen: dict[str, int | None], team, keys, storage, proxies
) -> list[ImportOutcome]:
    """Import up to IMPORT_CHUNK parsed files at once. If the database refuses the chunk (an auth key another
    import stored meanwhile, a value out of range), the chunk goes again file by file, so each file gets its own
    answer."""
    outcomes: list[ImportOutcome | None] = []
    new: list[tuple[int, TelegramAccount, ParsedSession, VaultEntry]] = []
    new_keys: set[str] = set()  # for a key twice in this chunk
    again: list[tuple[int, str]] = []
    for item in items:
        if isinstance(item, Rejection):
            outcomes.append(ImportOutcome(item.name, "rejected", reason=item.reason))
            continue
        sha = item.record.auth_key_sha256
        if sha in seen:
            outcomes.append(ImportOutcome(item.name, "duplicate", seen[sha], "this auth key is already stored"))
            continue
        if sha in new_keys:
            again.append((len(outcomes), sha))
            outcomes.append(None)
            continue
        prepared = _prepared(item, team, proxies)
        if isinstance(prepared, ImportOutcome):
            outcomes.append(prepared)
            continue
        new_keys.add(sha)
        new.append((len(outcomes), *prepared))
        outcomes.append(None)
    try:
        _chunk_store(actor, new, keys, storage)
    except (IntegrityError, DataError):
        return [_import_one(actor, item, seen, team, keys, storage, proxies) for item in items]
    for index, account, item, _entry in new:
        seen[item.record.auth_key_sha256] = account.pk
        outcomes[index] = ImportOutcome(item.name, "imported", account.pk)
    for index, sha in again:
        outcomes[index] = ImportOutcome(items[index].name, "duplicate", seen[sha], "this auth key is already stored")
    return outcomes


def _chunk_store(actor, new: list, keys, storage) -> None:
    """One transaction: the accounts in one insert, their events under one chain-head lock, then their vault
    entries (sealed beforehand). Whatever was written to the vault goes again if the transaction does not commit."""
    if not new:
        return
    sealed = [(account.vault_name, seal(entry, keys)) for _index, account, _item, entry in new]
    written: list[str] = []
    try:
        with transaction.atomic():
            accounts = TelegramAccount.objects.bulk_create([account for _index, account, _item, _entry in new])
            audit_record_many(actor=actor, entries=[
                AuditEntry("session.import", target=account, details=_import_details(account, item))
                for account, (_index, _account, item, _entry) in zip(accounts, new, strict=True)
            ])  # fmt: skip
            vault_save_many(storage, sealed, written)
    except BaseException:
        for name in written:
            storage.delete(name)
        raise


def _prepared(item: ParsedSession, team, proxies) -> tuple[TelegramAccount, ParsedSession, VaultEntry] | ImportOutcome:
    """The account row (not yet saved) and vault entry for one parsed file, or why it is rejected."""
    account = _account_from(item, team)
    try:
        account.proxy = proxies.get(item.profile.proxy)
    except (PermissionDenied, ValueError) as exc:
        return ImportOutcome(item.name, "rejected", reason=f"its proxy: {exc}"[:300])
    identity = identity_for(account, item.record, has_hash=bool(item.profile.api_hash))
    api_hash = item.profile.api_hash or (identity.api_hash if identity else None)
    return account, item, VaultEntry(item.record, api_hash=api_hash, two_fa=item.profile.two_fa)


def _import_details(account: TelegramAccount, item: ParsedSession) -> dict:
    return {"file": item.name[-200:], "format": str(item.record.source_format), "proxy": account.proxy_id,
            "identity": account.device.get("identity", "own")}  # fmt: skip


def _import_one(
    actor, item: ParsedSession | Rejection, seen: dict[str, int | None], team, keys, storage, proxies
) -> ImportOutcome:
    if isinstance(item, Rejection):
        return ImportOutcome(item.name, "rejected", reason=item.reason)
    sha = item.record.auth_key_sha256
    if sha in seen:
        return ImportOutcome(item.name, "duplicate", seen[sha], "this auth key is already stored")
    prepared = _prepared(item, team, proxies)
    if isinstance(prepared, ImportOutcome):
        return prepared
    account, item, entry = prepared
    try:
        with transaction.atomic():
            account.save()
            audit_record(actor=actor, action="session.import", target=account, details=_import_details(account, item))
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


class _ProxiesForImport:
    """The Proxy row for each proxy an import names: found (one the importer may use) or added, once per import."""

    def __init__(self, actor, team: Team | None, default: ProxySpec | None) -> None:
        self.actor, self.team, self.default = actor, team, default
        self.known: dict[tuple, Proxy] = {}

    def get(self, spec: ProxySpec | None) -> Proxy | None:
        spec = spec or self.default
        if spec is None:
            return None
        key = (spec.kind, spec.host, spec.port, spec.username)
        if key not in self.known:
            proxy, created = proxy_get_or_create(actor=self.actor, spec=spec, team=self.team)
            if not created and not Proxy.objects.restrict(self.actor).filter(pk=proxy.pk).exists():
                raise PermissionDenied("it is another team's proxy")
            self.known[key] = proxy
        return self.known[key]


def account_vault_entry(account: TelegramAccount, blob: bytes | None = None) -> VaultEntry:
    """Decrypt an account's session into memory (its sealed ``blob`` if the caller read it already, as a check
    batch does). For checks and exports only; never log the result."""
    if blob is None:
        storage = session_storage()
        if hasattr(storage, "tighten"):
            storage.tighten(account.vault_name)
        with storage.open(account.vault_name, "rb") as handle:
            blob = handle.read()
    DECRYPTS.inc()
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
    # The .session with the .json sidecar tools read beside it: the app and device go along, so the session is
    # not seen as a new device wherever it is used next.
    "telethon_session_json": (".zip", telethon_sqlite_export, "application/zip"),
}
SIDECAR_DEVICE = ("device", "sdk", "app_version", "lang_code", "system_lang_code", "lang_pack", "system_lang_pack")


def _with_sidecar(account: TelegramAccount, entry: VaultEntry, session: bytes) -> bytes:
    import io
    import json
    import zipfile

    doc = {"app_id": account.api_id, "app_hash": entry.api_hash, "phone": account.phone or None,
           "username": account.username or None, "id": account.telegram_user_id,
           **{name: account.device[name] for name in SIDECAR_DEVICE if account.device.get(name)}}  # fmt: skip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"account-{account.pk}.session", session)
        archive.writestr(f"account-{account.pk}.json", json.dumps({k: v for k, v in doc.items() if v is not None}))
    return buffer.getvalue()


def session_export(*, actor, account: TelegramAccount, export_format: str, reason: str = "") -> SessionExport:
    if export_format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {export_format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    account_require(actor=actor, account=account, codename="export_session", action="session.export")
    suffix, exporter, content_type = EXPORT_FORMATS[export_format]
    entry = account_vault_entry(account)
    content = exporter(entry.record)
    if export_format == "telethon_session_json":
        content = _with_sidecar(account, entry, content)
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
    proxies_rotated: int = 0
    proxies_failed: list[tuple[int, str]] = field(default_factory=list)


def _proxies_reseal(keys, report: RotationReport) -> None:
    """Proxies' sealed passwords and secrets go under the newest key too: dropping the old key loses nothing."""
    for pk, sealed in Proxy.objects.filter(has_secret=True).order_by("pk").values_list("pk", "sealed"):
        try:
            Proxy.objects.filter(pk=pk).update(sealed=reseal(bytes(sealed), keys))
        except VaultKeyError as exc:
            report.proxies_failed.append((pk, str(exc)))
        else:
            report.proxies_rotated += 1


def vault_rotate(*, actor, progress: Callable[[int], None] | None = None, workers: int = 8) -> RotationReport:
    """Re-encrypt every stored session (and every proxy's secret) under the newest key.

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
    in_files = isinstance(storage, FileSystemStorage)  # the database store goes in this thread, on its connection
    with ThreadPoolExecutor(max_workers=workers if in_files else 1) as pool:
        for pk, error in pool.map(rotate_one, names) if in_files else map(rotate_one, names):
            if error:
                report.failed.append((pk, error))
            else:
                report.rotated += 1
            if progress:
                progress(1)
    storage.sync_directory()
    _proxies_reseal(keys, report)
    VAULT_OPERATIONS.labels("rotate").inc(report.rotated)
    outcome = Outcome.ALLOWED if not report.failed and not report.proxies_failed else Outcome.FAILED
    with transaction.atomic():
        audit_record(
            actor=actor, action="vault.rotate", outcome=outcome,
            details={"stage": "done", "total": report.total, "rotated": report.rotated, "failed": len(report.failed),
                     "proxies_rotated": report.proxies_rotated, "proxies_failed": len(report.proxies_failed)},
        )  # fmt: skip
    logger.info("Vault rotation: %s of %s rotated, %s failed", report.rotated, report.total, len(report.failed))
    return report
