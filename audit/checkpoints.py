"""Signed checkpoints of the chain's head, appended to a file outside the database.

The database alone cannot prove it still holds everything: whoever can write it can delete the newest
events and move the head back. A checkpoint (sequence, head hash, time, MAC under the chain key) is
appended to AUDIT_CHECKPOINT_FILE and sent to the alert chat; `verify_audit --checkpoints` then finds
every event a checkpoint names still there with the same hash, so a truncation or rewrite after a
checkpoint shows.
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from audit.chain import ChainHasher
from audit.models import AuditEvent
from audit.verify import audit_chain_verify

PURPOSE = b"tgfleet audit checkpoint v1"


class CheckpointError(Exception):
    """The checkpoint file is unreadable, or the trail does not match it."""


@dataclass(frozen=True)
class Checkpoint:
    sequence: int
    hash: str
    at: str
    mac: str = ""

    def payload(self) -> bytes:
        return json.dumps({"at": self.at, "hash": self.hash, "sequence": self.sequence}, sort_keys=True).encode()

    def signed(self, hasher: ChainHasher) -> Checkpoint:
        return Checkpoint(self.sequence, self.hash, self.at, hasher.sign(PURPOSE, self.payload()))

    def is_signed_by(self, hasher: ChainHasher) -> bool:
        return hmac.compare_digest(self.mac, hasher.sign(PURPOSE, self.payload()))


def checkpoints_read(path: Path | None = None) -> list[Checkpoint]:
    path = Path(path or settings.AUDIT_CHECKPOINT_FILE)
    if not path.exists():
        return []
    hasher, found = ChainHasher(), []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            doc = json.loads(line)
            checkpoint = Checkpoint(int(doc["sequence"]), str(doc["hash"]), str(doc["at"]), str(doc["mac"]))
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"{path} line {number} is not a checkpoint") from None
        if not checkpoint.is_signed_by(hasher):
            raise CheckpointError(f"{path} line {number} is not signed under this AUDIT_CHAIN_KEY")
        if found and checkpoint.sequence < found[-1].sequence:
            raise CheckpointError(
                f"{path} line {number} goes back from #{found[-1].sequence} to #{checkpoint.sequence}"
            )
        found.append(checkpoint)
    return found


def audit_checkpoint_write(*, path: Path | None = None) -> Checkpoint | None:
    """Verify what came since the last checkpoint, then append and announce a new one (None: nothing new).

    A trail that does not verify is never checkpointed: the error says where it breaks.
    """
    path = Path(path or settings.AUDIT_CHECKPOINT_FILE)
    previous = checkpoints_read(path)
    report = audit_chain_verify()
    if report.problem:
        raise CheckpointError(f"the audit trail does not verify, so no checkpoint was written: {report.problem}")
    problem = _mismatch(previous)
    if problem:
        raise CheckpointError(problem)
    if report.head_sequence == 0 or (previous and previous[-1].sequence == report.head_sequence):
        return None
    hasher = ChainHasher()
    checkpoint = Checkpoint(report.head_sequence, report.head_hash, timezone.now().isoformat()).signed(hasher)
    _append_line(path, json.dumps(asdict(checkpoint), sort_keys=True))
    from alerts.services import alert_notice

    alert_notice(
        kind="audit.checkpoint", key=str(checkpoint.sequence),
        summary=f"audit trail checkpoint: #{checkpoint.sequence}, head {checkpoint.hash}",
        details={"sequence": checkpoint.sequence, "hash": checkpoint.hash, "at": checkpoint.at},
    )  # fmt: skip
    return checkpoint


def audit_checkpoints_verify(path: Path | None = None) -> tuple[int, str | None]:
    """(checkpoints read, the first problem or None): each named event is there with the hash it had."""
    try:
        found = checkpoints_read(path)
    except CheckpointError as exc:
        return 0, str(exc)
    return len(found), _mismatch(found)


def _mismatch(checkpoints: list[Checkpoint]) -> str | None:
    if not checkpoints:
        return None
    stored = dict(
        AuditEvent.objects.filter(sequence__in={c.sequence for c in checkpoints}).values_list("sequence", "hash")
    )
    for checkpoint in checkpoints:
        if checkpoint.sequence not in stored:
            return f"event #{checkpoint.sequence}, checkpointed at {checkpoint.at}, is gone (the trail was cut)"
        if stored[checkpoint.sequence] != checkpoint.hash:
            return f"event #{checkpoint.sequence} differs from its checkpoint of {checkpoint.at} (rewritten)"
    return None


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
