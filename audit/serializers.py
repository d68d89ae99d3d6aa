from rest_framework import serializers

from audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "sequence", "occurred_at", "actor_name", "action", "target_type", "target_id", "target_text",
            "outcome", "request_id", "client_ip", "user_agent", "details", "prev_hash", "hash",
        ]  # fmt: skip
