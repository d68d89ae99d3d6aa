from rest_framework import serializers

from accounts.models import TelegramAccount
from accounts.services import EXPORT_FORMATS


class AccountSerializer(serializers.ModelSerializer):
    team = serializers.StringRelatedField()

    class Meta:
        model = TelegramAccount
        fields = [
            "id",
            "label",
            "phone",
            "telegram_user_id",
            "username",
            "dc_id",
            "test_server",
            "status",
            "team",
            "api_id",
            "has_api_hash",
            "has_two_fa",
            "device",
            "source_format",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ImportRequestSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False)
    team = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class ImportOutcomeSerializer(serializers.Serializer):
    name = serializers.CharField()
    result = serializers.ChoiceField(choices=["imported", "duplicate", "rejected"])
    account_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)


class ImportResponseSerializer(serializers.Serializer):
    summary = serializers.DictField(child=serializers.IntegerField())
    results = ImportOutcomeSerializer(many=True)


class StrictCharField(serializers.CharField):
    """Text only: DRF's CharField turns 0 or true into "0" or "True"; a client that sends those has a bug."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=sorted(EXPORT_FORMATS))
    reason = StrictCharField(max_length=500, required=False, allow_blank=True)


class CheckResponseSerializer(serializers.Serializer):
    outcome = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    latency_ms = serializers.IntegerField()
    previous_status = serializers.CharField()
    status = serializers.CharField()
