"""The backup file's layout and its manifest; reading one back without trusting a byte of it."""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

FORMAT = "tgfleet-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "database.tgjson.xz"  # Django fixtures (project/backups/serializer.py), xz-compressed
CHECKPOINTS = "audit-checkpoints.jsonl"
SESSIONS = "sessions/"
# Vault names are ours (accounts/services): letters, digits, dots, dashes, underscores; one level deep.
_VAULT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
# Live state, not data: console logins, login lockouts, heartbeats, the beat scheduler's change marker, and
# accounts' sign-ins in progress (ten minutes long; restored, they could only expire).
# Two-factor authenticators and recovery codes stay out too: django-otp keeps their secrets in the clear,
# and a backup holds ciphertext only; after a restore everyone who needs one enrols again.
# Everything else goes with its own primary keys (content types and permissions too), so the restored
# database is a replica: an audit event's actor id, part of its hash, still names the same user.
EXCLUDED = [
    "sessions",
    "axes",
    "health.heartbeat",
    "health.componentstate",
    "django_celery_beat.periodictasks",
    "otp_totp",
    "otp_static",
    "accounts.login",
    "accounts.vaultblob",  # SESSION_STORE=database: the sealed sessions go in sessions/, as from the file store
]


class BackupError(Exception):
    """A backup cannot be made or restored; the message says why, and nothing was changed."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    accounts: int
    sessions: int
    audit_events: int
    bytes: int


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def vault_name_valid(name: str) -> bool:
    return bool(_VAULT_NAME.fullmatch(name)) and ".." not in name


class BackupReader:
    """A backup file opened for restore: members checked against the manifest before anything is used."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise BackupError(f"{path} is not a file")
        try:
            self._tar = tarfile.open(path, "r:")  # noqa: SIM115 (closed by close(), after the members are read)
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"{path} is not a tgfleet backup (not a tar file: {exc})") from None
        self.members = {m.name: m for m in self._tar.getmembers()}
        for name, member in self.members.items():
            if not member.isfile() or not self._expected(name):
                raise BackupError(f"{path} holds {name!r}, which no tgfleet backup holds; refusing it")
        self.manifest = self._manifest(path)
        listed = set(self.manifest["files"])
        if listed != set(self.members) - {MANIFEST}:
            raise BackupError(f"{path} does not match its manifest (files added or missing)")

    @staticmethod
    def _expected(name: str) -> bool:
        if name in (MANIFEST, DATABASE, CHECKPOINTS):
            return True
        return name.startswith(SESSIONS) and vault_name_valid(name[len(SESSIONS) :])

    def _manifest(self, path: Path) -> dict:
        if MANIFEST not in self.members:
            raise BackupError(f"{path} has no manifest; not a tgfleet backup")
        try:
            manifest = json.loads(self.read(MANIFEST))
        except ValueError:
            raise BackupError(f"{path}: the manifest is not JSON") from None
        if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
            raise BackupError(f"{path} is not a version {VERSION} tgfleet backup")
        if DATABASE not in manifest.get("files", {}):
            raise BackupError(f"{path} holds no database")
        return manifest

    def read(self, name: str) -> bytes:
        handle = self._tar.extractfile(self.members[name])
        assert handle is not None
        data = handle.read()
        expected = self.manifest["files"].get(name) if name != MANIFEST else None
        if expected is not None and hashlib.sha256(data).hexdigest() != expected:
            raise BackupError(f"{name} in the backup does not match its checksum (damaged or altered)")
        return data

    def session_names(self) -> list[str]:
        return sorted(name[len(SESSIONS) :] for name in self.members if name.startswith(SESSIONS))

    def close(self) -> None:
        self._tar.close()
