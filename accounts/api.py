"""REST adapters: parse input, call one service or selector, format output."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_proxies import proxy_visible
from accounts.downloads import session_download
from accounts.filters import AccountFilter
from accounts.models import ACCOUNT_ID_PATTERN, Job, TelegramAccount
from accounts.serializers import (
    AccountChangeSerializer,
    AccountSerializer,
    CheckRecordSerializer,
    CheckResponseSerializer,
    ExportRequestSerializer,
    ImportRequestSerializer,
    JobSerializer,
    SessionsResetSerializer,
)
from accounts.services import account_delete, account_for_action, account_update, session_export
from accounts.services.check_jobs import check_job_create, check_job_wait
from accounts.services.deep_checks import DeepCheckBusyError, other_sessions_terminate
from accounts.services.imports import import_job_create, job_for, job_progress
from accounts.services.proxies import proxy_assign
from accounts.services.tags import TagError, accounts_tags_edit
from accounts.services.teams import TeamChoiceError, team_chosen
from accounts.sessions import InputFile
from accounts.vault.crypto import VaultKeyError


class AccountViewSet(viewsets.ReadOnlyModelViewSet):
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AccountFilter
    serializer_class = AccountSerializer
    # Plain ASCII decimals only (no "1e3", "01", full-width digits or 70 digits): anything else is 404
    # before a query or an audit event could read it as some other account.
    lookup_value_regex = ACCOUNT_ID_PATTERN

    def get_queryset(self):
        return (
            TelegramAccount.objects.restrict(self.request.user)
            .select_related("team", "standing")
            .prefetch_related("tags")
        )

    @extend_schema(responses={204: None}, description="Delete the account and its vault file (audited).")
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        account = account_for_action(
            actor=request.user, account_id=pk, codename="delete_telegramaccount", action="account.delete"
        )
        account_delete(actor=request.user, account=account)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: CheckRecordSerializer(many=True)}, filters=False,
                   description="The account's check history, newest first: successes of the last "
                               "CHECK_HISTORY_OK_HOURS, other outcomes of the last CHECK_HISTORY_DAYS.")  # fmt: skip
    @action(detail=True, methods=["get"], filter_backends=[])
    def checks(self, request: Request, pk: str | None = None) -> Response:
        account = account_for_action(
            actor=request.user, account_id=pk, codename="view_telegramaccount", action="account.view"
        )
        page = self.paginate_queryset(account.checks.order_by("-at", "-pk"))
        return self.get_paginated_response(CheckRecordSerializer(page, many=True).data)

    @extend_schema(
        request=AccountChangeSerializer,
        responses={200: AccountSerializer},
        description="Change an account's label, notes, team or proxy (through the services, audited).",
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        form = AccountChangeSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        account = account_for_action(
            actor=request.user, account_id=pk, codename="change_telegramaccount", action="account.change"
        )
        # All of it or none of it: a refused team after an accepted proxy or tags leaves the account as it was.
        with transaction.atomic():
            if "tags" in data:
                wanted = set(data.pop("tags"))
                current = set(account.tags.values_list("name", flat=True))
                try:
                    accounts_tags_edit(
                        actor=request.user, accounts=[account], add=wanted - current, remove=current - wanted
                    )
                except TagError as exc:
                    raise ValidationError({"tags": [str(exc)]}) from None
            if "proxy" in data:
                proxy_id = data.pop("proxy")
                proxy = proxy_visible(request.user, proxy_id) if proxy_id is not None else None
                try:
                    proxy_assign(actor=request.user, accounts=[account], proxy=proxy)
                except ValueError as exc:
                    raise ValidationError({"proxy": [str(exc)]}) from None
            try:
                if "team" in data:
                    data["team"] = team_chosen(actor=request.user, team_id=data["team"], action="permission.change")
                if data:
                    account_update(actor=request.user, account=account, **data)
            except TeamChoiceError as exc:
                raise ValidationError({"team": [str(exc)]}) from None
        account = TelegramAccount.objects.select_related("team").get(pk=account.pk)
        return Response(AccountSerializer(account).data)

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer},
        responses={202: JobSerializer},
        description="Import one or many session files or zips. A worker imports them: poll the job answered "
        "(`poll`) until it is finished; every file then has its own result.",
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_sessions(self, request: Request) -> Response:
        form = ImportRequestSerializer(data={"files": request.FILES.getlist("files"), **_team(request)})
        form.is_valid(raise_exception=True)
        files = [InputFile(f.name, f.read()) for f in form.validated_data["files"]]
        try:
            team = team_chosen(actor=request.user, team_id=form.validated_data.get("team"), action="session.import")
            job = import_job_create(actor=request.user, files=files, team=team)
        except TeamChoiceError as exc:
            raise ValidationError({"team": [str(exc)]}) from None
        except VaultKeyError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return _job_response(request, job, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={200: CheckResponseSerializer, 202: JobSerializer, 409: None},
        description="Check the account now. A worker checks it; the answer waits a few seconds "
        "(CHECK_NOW_WAIT_SECONDS) for the result, else it is 202 with the job to poll. 409: the account is being "
        "checked elsewhere right now.",
    )
    @action(detail=True, methods=["post"])
    def check(self, request: Request, pk: str | None = None) -> Response:
        account = account_for_action(
            actor=request.user, account_id=pk, codename="check_account", action="account.check"
        )
        job = check_job_wait(check_job_create(actor=request.user, accounts=[account]))
        if not job.finished:
            return _job_response(request, job, status.HTTP_202_ACCEPTED)
        [item] = job.results
        if item["result"] == "busy":
            return Response({"detail": item["reason"], "job": str(job.pk)}, status=status.HTTP_409_CONFLICT)
        body = {"job": job.pk, "outcome": item["result"], "detail": item["reason"],
                "latency_ms": item.get("latency_ms", 0), "previous_status": item.get("previous_status", ""),
                "status": item.get("status", "")}  # fmt: skip
        return Response(CheckResponseSerializer(body).data)

    @extend_schema(
        request=None,
        responses={200: SessionsResetSerializer, 409: None},
        description="Terminate every other session of the account (auth.resetAuthorizations; ours is never ended). "
        "Needs the change permission; audited. `done` false with `error`: Telegram refused (e.g. "
        "FRESH_RESET_AUTHORISATION_FORBIDDEN in a session's first day) or could not be reached. 409: the account is "
        "being checked right now.",
    )
    @action(detail=True, methods=["post"], url_path="sessions-reset")
    def sessions_reset(self, request: Request, pk: str | None = None) -> Response:
        account = account_for_action(
            actor=request.user, account_id=pk, codename="change_telegramaccount", action="account.sessions_reset"
        )
        try:
            error = other_sessions_terminate(actor=request.user, account=account)
        except DeepCheckBusyError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response({"done": not error, "error": error or ""})

    @extend_schema(
        request=ExportRequestSerializer,
        responses={
            (200, "application/vnd.sqlite3"): OpenApiResponse(OpenApiTypes.BINARY, description="a .session file"),
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="a session string"),
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="a .session with its .json sidecar (app and device)"
            ),
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


class JobViewSet(viewsets.GenericViewSet):
    """Imports and checks someone asked for, as they run: only their own (a superuser's: all)."""

    serializer_class = JobSerializer
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    @extend_schema(responses={200: JobSerializer}, description="A job's state, counts and results so far.")
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        try:
            job = job_for(actor=request.user, job_id=pk)
        except (Job.DoesNotExist, DjangoValidationError):
            raise Http404("No such job.") from None
        return _job_response(request, job, status.HTTP_200_OK)


def _job_response(request: Request, job, code: int) -> Response:
    body = {**job_progress(job), "poll": request.build_absolute_uri(reverse("job-detail", args=[job.pk]))}
    return Response(JobSerializer(body).data, status=code)


def _team(request: Request) -> dict[str, str]:
    team = request.data.get("team")
    return {"team": team} if team not in (None, "") else {}
