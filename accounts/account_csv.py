"""The account list as CSV: what the console's list shows (its filters and search applied), never a secret.

Cells that a spreadsheet would run as a formula (a label from an imported sidecar could start with "=") are
prefixed with a quote, as OWASP advises for CSV injection.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.db import transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from audit.services import audit_record

COLUMNS = [
    ("id", "pk"), ("label", "label"), ("phone", "phone"), ("username", "username"),
    ("telegram_user_id", "telegram_user_id"), ("status", "status"), ("team", "team__name"),
    ("proxy", "proxy__label"), ("dc", "dc_id"), ("test_dc", "test_server"), ("imported_from", "source_format"),
    ("two_step_password", "has_two_fa"), ("last_checked_at", "last_checked_at"), ("last_outcome", "last_outcome"),
    ("failures_in_a_row", "consecutive_failures"), ("created_at", "created_at"),
]  # fmt: skip
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def accounts_csv_response(accounts: QuerySet, *, actor, filters: dict) -> StreamingHttpResponse:
    """Stream the rows; the export is audited (who, which filters, how many rows) before the first byte."""
    count = accounts.count()
    with transaction.atomic():
        audit_record(actor=actor, action="account.list_export", details={"filters": filters, "rows": count})
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow([name for name, _ in COLUMNS])
        for values in accounts.order_by("pk").values_list(*[field for _, field in COLUMNS]).iterator(2000):
            yield writer.writerow([_cell(v) for v in values])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="tgfleet-accounts-{stamp}.csv"'
    return response
