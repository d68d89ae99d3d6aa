from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import AccountStanding, CheckRecord, TelegramAccount
from accounts.services import EXPORT_FORMATS


class StandingSerializer(serializers.ModelSerializer):
    """What the last deep check found; null is "not known", never "fine"."""

    class Meta:
        model = AccountStanding
        fields = ["checked_at", "next_at", "last_outcome", "spam_blocked", "spam_kind", "spam_until", "spam_text",
                  "spambot_asked_at", "frozen", "freeze_since", "freeze_until", "freeze_appeal_url", "restricted",
                  "scam", "fake", "restriction_reasons", "two_step", "other_sessions", "authorizations",
                  "evidence"]  # fmt: skip
        read_only_fields = fields


class AccountSerializer(serializers.ModelSerializer):
    team = serializers.StringRelatedField(allow_null=True, help_text="the team's name; null: no team")
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    standing = serializers.SerializerMethodField(help_text="what Telegram holds against it (null: never deep-checked)")

    @extend_schema_field(StandingSerializer(allow_null=True))
    def get_standing(self, account: TelegramAccount) -> dict | None:
        standing = getattr(account, "standing", None)
        return StandingSerializer(standing).data if standing is not None else None

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
            "last_checked_at",
            "last_outcome",
            "consecutive_failures",
            "next_check_at",
            "flood_wait_until",
            "team",
            "proxy",
            "tags",
            "api_id",
            "has_api_hash",
            "has_two_fa",
            "device",
            "source_format",
            "notes",
            "created_at",
            "updated_at",
            "standing",
        ]
        read_only_fields = fields


def row_id_field(help_text: str, **kwargs) -> serializers.IntegerField:
    """An optional id of a row, as a bigint holds it: anything else is a 400, never a database error."""
    return serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1, help_text=help_text, **kwargs)


class CheckRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = CheckRecord
        fields = ["at", "outcome", "detail", "latency_ms"]
        read_only_fields = fields


class TagNamesField(serializers.ListField):
    """A list of tag names, checked as one value: its errors are plain messages, never a dict per item."""

    child = serializers.CharField()

    def to_internal_value(self, data):
        from accounts.services.tags import TagError, tag_names_clean

        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            raise serializers.ValidationError("a list of tag names (strings)")
        try:
            return tag_names_clean(data)
        except TagError as exc:
            raise serializers.ValidationError(str(exc)) from None


class AccountChangeSerializer(serializers.Serializer):
    label = serializers.CharField(required=False, max_length=200)
    team = row_id_field("a team's id (your own teams only, unless you see every account)", allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    proxy = row_id_field("a proxy's id (every check then goes through it), or null for direct", allow_null=True)
    tags = TagNamesField(required=False, help_text="every tag of the account (replaces the set); new names become tags")


class ImportRequestSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False)
    team = row_id_field("a team's id")


class JobItemSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True, help_text="the file (import) or the account's label (check)")
    result = serializers.CharField(help_text="imported, duplicate, rejected; or a check's outcome, busy, refused")
    account_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)


class JobSerializer(serializers.Serializer):
    """Work that runs on workers (an import, checks): poll `poll` until `finished`."""

    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=["import", "check"])
    state = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    finished = serializers.BooleanField()
    total = serializers.IntegerField()
    processed = serializers.IntegerField()
    percent = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    summary = serializers.DictField(child=serializers.IntegerField(), help_text="items by result")
    summary_text = serializers.CharField(allow_blank=True)
    results = JobItemSerializer(many=True)
    poll = serializers.CharField(help_text="this job's URL")


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
    job = serializers.UUIDField()
    outcome = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    latency_ms = serializers.IntegerField()
    previous_status = serializers.CharField()
    status = serializers.CharField()


class SessionsResetSerializer(serializers.Serializer):
    done = serializers.BooleanField()
    error = serializers.CharField(
        allow_blank=True, help_text="Telegram's refusal, e.g. FRESH_RESET_AUTHORISATION_FORBIDDEN"
    )
