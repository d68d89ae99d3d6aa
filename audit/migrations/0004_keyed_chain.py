"""Re-chain the trail under AUDIT_CHAIN_KEY (HMAC-SHA256) instead of bare SHA-256.

The old chain is verified first, exactly as it was written; a trail that does not verify is not
re-chained (that would launder a tamper) and the migration stops, naming the first bad event. The
re-chaining itself is recorded as the next event, with the old head hash, so the step stays visible.
"""

import datetime as dt
import hashlib

from django.conf import settings
from django.db import migrations

from audit.chain import HASHED_FIELDS, ChainHasher, event_canonical

GENESIS = "0" * 64


def _sha256(prev: str, fields: dict) -> str:
    return hashlib.sha256(prev.encode("ascii") + b"\n" + event_canonical(fields)).hexdigest()


def forwards(apps, schema_editor) -> None:
    Event = apps.get_model("audit", "AuditEvent")
    Head = apps.get_model("audit", "AuditChainHead")
    if not Event.objects.exists():
        return
    rows = list(Event.objects.order_by("sequence").values_list("pk", *HASHED_FIELDS, "prev_hash", "hash"))
    prev = GENESIS
    for expected, row in enumerate(rows, start=1):
        fields = dict(zip(HASHED_FIELDS, row[1 : 1 + len(HASHED_FIELDS)], strict=True))
        if fields["sequence"] != expected or row[-2] != prev or _sha256(prev, fields) != row[-1]:
            raise RuntimeError(
                f"the audit trail does not verify as written (event #{expected}); it is not re-chained. "
                "Export it with the previous release and investigate before upgrading."
            )
        prev = row[-1]
    unkeyed_head = prev
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_append_only")
    hasher, prev = ChainHasher(settings.AUDIT_CHAIN_KEY), GENESIS
    for row in rows:
        fields = dict(zip(HASHED_FIELDS, row[1 : 1 + len(HASHED_FIELDS)], strict=True))
        digest = hasher.event_hash(prev, fields)
        Event.objects.filter(pk=row[0]).update(prev_hash=prev, hash=digest)
        prev = digest
    if postgres:
        schema_editor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_append_only")
    last = rows[-1]
    now = max(dt.datetime.now(dt.UTC), last[1 + HASHED_FIELDS.index("occurred_at")])
    fields = {
        "sequence": len(rows) + 1, "occurred_at": now, "actor_id": None, "actor_name": "system:migrate",
        "action": "audit.chain_keyed", "target_type": "", "target_id": "", "target_text": "", "outcome": "allowed",
        "request_id": "", "client_ip": None, "user_agent": "",
        "details": {"rechained": len(rows), "unkeyed_head": unkeyed_head},
    }  # fmt: skip
    digest = hasher.event_hash(prev, fields)
    Event.objects.create(prev_hash=prev, hash=digest, **fields)
    Head.objects.filter(pk=1).update(sequence=fields["sequence"], hash=digest, occurred_at=now)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_filter_indexes")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
