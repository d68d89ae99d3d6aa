"""REST adapters for proxies: the same rule, roles, teams and audit as accounts; secrets go in, never out."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Proxy
from accounts.serializers import row_id_field
from accounts.services.proxies import proxy_create, proxy_delete, proxy_update
from accounts.services.teams import TeamChoiceError, team_chosen
from accounts.telegram.proxy_url import ProxyUrlError, proxy_url_parse
from project.access import restrict


class ProxySerializer(serializers.ModelSerializer):
    team = serializers.StringRelatedField(allow_null=True, help_text="the team's name; null: no team")
    accounts = serializers.IntegerField(source="accounts.count", read_only=True, help_text="accounts through it")

    class Meta:
        model = Proxy
        fields = ["id", "label", "kind", "host", "port", "username", "has_secret", "team", "enabled", "capacity",
                  "accounts", "status", "last_error", "last_checked_at", "latency_ms", "created_at"]  # fmt: skip
        read_only_fields = fields


class ProxyWriteSerializer(serializers.Serializer):
    url = serializers.CharField(
        required=False, max_length=2048, write_only=True,
        help_text="socks5://user:pass@host:port, http://…, mtproxy://SECRET@host:port or a tg://proxy link",
    )  # fmt: skip
    label = serializers.CharField(required=False, allow_blank=True, max_length=200)
    team = row_id_field("a team's id (your own teams only, unless you see every account)", allow_null=True)
    enabled = serializers.BooleanField(required=False)
    capacity = serializers.IntegerField(required=False, min_value=1, max_value=100_000)

    def validate_url(self, value: str):
        try:
            return proxy_url_parse(value)
        except ProxyUrlError as exc:
            raise ValidationError(f"not a usable proxy: {exc}") from None


class ProxyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ProxySerializer
    lookup_value_regex = r"[1-9][0-9]{0,17}"

    def get_queryset(self):
        return Proxy.objects.restrict(self.request.user).select_related("team").order_by("pk")

    def _team(self, data: dict, action: str) -> dict:
        """The team named by id, chosen as an account's is (one answer for another team's and no such team)."""
        if "team" not in data:
            return {}
        try:
            return {"team": team_chosen(actor=self.request.user, team_id=data["team"], action=action)}
        except TeamChoiceError as exc:
            raise ValidationError({"team": [str(exc)]}) from None

    @extend_schema(
        request=ProxyWriteSerializer,
        responses={201: ProxySerializer},
        description="Add a proxy from its URL or link; its password or secret is sealed and never shown.",
    )
    def create(self, request: Request) -> Response:
        form = ProxyWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if "url" not in data:
            raise ValidationError({"url": ["a new proxy needs its URL or link"]})
        proxy = proxy_create(actor=request.user, spec=data["url"], label=data.get("label", ""),
                             capacity=data.get("capacity", 10), **self._team(data, "proxy.create"))  # fmt: skip
        if data.get("enabled") is False:
            proxy = proxy_update(actor=request.user, proxy=proxy, enabled=False)
        return Response(ProxySerializer(proxy).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ProxyWriteSerializer,
        responses={200: ProxySerializer},
        description="Change a proxy's label, team, enabled flag, capacity, or its URL and secret.",
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        proxy = self.get_object()
        form = ProxyWriteSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        spec = data.pop("url", None)
        changes = {k: v for k, v in data.items() if k in ("label", "enabled", "capacity")} | self._team(
            data, "proxy.change"
        )
        proxy = proxy_update(actor=request.user, proxy=proxy, spec=spec, **changes)
        return Response(ProxySerializer(proxy).data)

    @extend_schema(responses={204: None, 409: None}, description="Delete a proxy no account goes through.")
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        proxy = self.get_object()
        try:
            proxy_delete(actor=request.user, proxy=proxy)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


def proxy_visible(user, proxy_id: int) -> Proxy:
    proxy = restrict(Proxy.objects.all(), user, "view").filter(pk=proxy_id).first()
    if proxy is None:
        raise ValidationError({"proxy": ["no such proxy"]})
    return proxy
