from django.urls import path

from audit.api import AuditEventExport, AuditEventList

urlpatterns = [
    path("audit/events", AuditEventList.as_view(), name="audit-events"),
    path("audit/events.jsonl", AuditEventExport.as_view(), name="audit-events-jsonl"),
]
