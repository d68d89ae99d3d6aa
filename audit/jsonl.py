"""The trail as JSON Lines, oldest first, streamed: the same file from the API and the console."""

from __future__ import annotations

import json

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from audit.models import AuditEvent
from audit.serializers import AuditEventSerializer


def audit_jsonl_response(events: QuerySet[AuditEvent], filename: str = "audit.jsonl") -> StreamingHttpResponse:
    events = events.order_by("sequence")

    def lines():
        for event in events.iterator(chunk_size=2000):
            yield json.dumps(AuditEventSerializer(event).data, ensure_ascii=False) + "\n"

    response = StreamingHttpResponse(lines(), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def audit_export_record(*, actor, filters) -> None:
    """Who took a copy of which part of the trail: written before anything is sent (no event, no download)."""
    from django.db import transaction

    from audit.services import audit_record

    chosen = {key: str(value)[:200] for key, value in filters.items() if value}
    with transaction.atomic():
        audit_record(actor=actor, action="audit.export", details={"filters": chosen})
