"""REST adapters: parse input, call one service or selector, format output."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.downloads import session_download
from accounts.models import ACCOUNT_ID_PATTERN
from accounts.selectors import accounts_visible_to
from accounts.serializers import (
    AccountSerializer,
    CheckResponseSerializer,
    ExportRequestSerializer,
    ImportRequestSerializer,
    ImportResponseSerializer,
)
from accounts.services import CheckBusyError, account_check, account_for_action, session_export, session_import
from accounts.services.teams import TeamChoiceError, team_chosen
from accounts.sessions import InputFile
from accounts.vault.crypto import VaultKeyError


class AccountViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AccountSerializer
    # Plain ASCII decimals only (no "1e3", "01", full-width digits or 70 digits): anything else is 404
    # before a query or an audit event could read it as some other account.
    lookup_value_regex = ACCOUNT_ID_PATTERN

    def get_queryset(self):
        return accounts_visible_to(self.request.user).select_related("team")

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer},
        responses={200: ImportResponseSerializer},
        description="Import one or many session files or zips; every file gets its own result.",
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_sessions(self, request: Request) -> Response:
        form = ImportRequestSerializer(data={"files": request.FILES.getlist("files"), **_team(request)})
        form.is_valid(raise_exception=True)
        files = [InputFile(f.name, f.read()) for f in form.validated_data["files"]]
        try:
            team = team_chosen(actor=request.user, team_id=form.validated_data.get("team"), action="session.import")
            report = session_import(actor=request.user, files=files, team=team)
        except TeamChoiceError as exc:
            raise ValidationError({"team": [str(exc)]}) from None
        body = {"summary": report.summary, "results": [vars(outcome) for outcome in report.outcomes]}
        return Response(ImportResponseSerializer(body).data, status=status.HTTP_200_OK)

    @extend_schema(request=None, responses={200: CheckResponseSerializer}, description="Check the account now.")
    @action(detail=True, methods=["post"])
    def check(self, request: Request, pk: str | None = None) -> Response:
        account = account_for_action(
            actor=request.user, account_id=pk, codename="check_account", action="account.check"
        )
        try:
            done = account_check(actor=request.user, account=account)
        except CheckBusyError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        body = {"outcome": done.result.outcome, "detail": done.result.detail, "latency_ms": done.result.latency_ms,
                "previous_status": done.previous_status, "status": done.status}  # fmt: skip
        return Response(CheckResponseSerializer(body).data)

    @extend_schema(
        request=ExportRequestSerializer,
        responses={
            (200, "application/vnd.sqlite3"): OpenApiResponse(OpenApiTypes.BINARY, description="a .session file"),
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="a session string"),
        },
        description="Export the account's session. POST only; needs the export_session permission.",
    )
    @action(detail=True, methods=["post"])
    def export(self, request: Request, pk: str | None = None) -> HttpResponse:
        form = ExportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        account = account_for_action(
            actor=request.user, account_id=pk, codename="export_session", action="session.export"
        )
        try:
            exported = session_export(
                actor=request.user,
                account=account,
                export_format=form.validated_data["format"],
                reason=form.validated_data.get("reason", ""),
            )
        except VaultKeyError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return session_download(exported)


def _team(request: Request) -> dict[str, str]:
    team = request.data.get("team")
    return {"team": team} if team not in (None, "") else {}
