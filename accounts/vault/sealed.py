"""What one vault file holds: the session record plus the secrets that came with it, sealed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from accounts.sessions import SessionRecord
from accounts.vault.crypto import VaultKeyError, VaultKeys

ENCRYPTED = b"TGV1F\n"
PLAINTEXT = b"TGV1P\n"  # only with SESSION_ENCRYPTION_ENABLED=false, said out loud by health


@dataclass(frozen=True)
class VaultEntry:
    record: SessionRecord
    api_hash: str | None = field(default=None, repr=False)
    two_fa: str | None = field(default=None, repr=False)

    def to_bytes(self) -> bytes:
        doc = {"record": self.record.to_payload(), "api_hash": self.api_hash, "two_fa": self.two_fa}
        return json.dumps(doc, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> VaultEntry:
        doc = json.loads(data)
        return cls(SessionRecord.from_payload(doc["record"]), doc.get("api_hash"), doc.get("two_fa"))


def seal_bytes(data: bytes, keys: VaultKeys) -> bytes:
    """Any bytes as a vault file: encrypted under the newest key (or marked plaintext if encryption is off)."""
    return ENCRYPTED + keys.encrypt(data) if keys.enabled else PLAINTEXT + data


def unseal_bytes(blob: bytes, keys: VaultKeys) -> bytes:
    if blob.startswith(ENCRYPTED):
        return keys.decrypt(blob[len(ENCRYPTED) :])
    if blob.startswith(PLAINTEXT):
        return blob[len(PLAINTEXT) :]
    raise VaultKeyError("vault file is not in a known format (damaged or not a tgfleet vault file)")


def seal(entry: VaultEntry, keys: VaultKeys) -> bytes:
    return seal_bytes(entry.to_bytes(), keys)


def unseal(blob: bytes, keys: VaultKeys) -> VaultEntry:
    return VaultEntry.from_bytes(unseal_bytes(blob, keys))


def reseal(blob: bytes, keys: VaultKeys) -> bytes:
    """Rewrite under the newest key without parsing the payload; plaintext files get encrypted."""
    if not keys.enabled:
        raise VaultKeyError("encryption is disabled (SESSION_ENCRYPTION_ENABLED=false); nothing to rotate to")
    if blob.startswith(ENCRYPTED):
        return ENCRYPTED + keys.rotate(blob[len(ENCRYPTED) :])
    if blob.startswith(PLAINTEXT):
        return ENCRYPTED + keys.encrypt(blob[len(PLAINTEXT) :])
    raise VaultKeyError("vault file is not in a known format (damaged or not a tgfleet vault file)")
