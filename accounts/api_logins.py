"""REST adapters for adding an account by signing in (accounts.services.logins)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_proxies import proxy_visible
from accounts.models import Login, LoginState
from accounts.serializers import StrictCharField
from accounts.services.logins import (
    LoginError,
    PhoneKnown,
    login_cancel,
    login_code,
    login_for,
    login_password,
    login_replace,
    login_resend,
    login_start,
)
from accounts.services.teams import TeamChoiceError, team_chosen
from accounts.vault.crypto import VaultKeyError

NEXT_STEP = {LoginState.CODE_SENT: "code", LoginState.PASSWORD_NEEDED: "password", LoginState.EXISTS: "replace"}


class LoginSerializer(serializers.Serializer):
    """A sign-in between its steps. `next` names the step it waits for; `error` is Telegram's (or the network's)
    answer to the last step, `error_text` says it for people."""

    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=LoginState.choices)
    next = serializers.CharField(allow_null=True, help_text="code, password, replace, or null when it has ended")
    phone = serializers.CharField(source="phone_masked", help_text="masked: the number is never shown again")
    team = serializers.IntegerField(source="team_id", allow_null=True)
    proxy = serializers.IntegerField(source="proxy_id", allow_null=True)
    code_type = serializers.CharField(allow_blank=True, help_text="how Telegram sent the code: app, sms, call, "
                                      "flash_call, missed_call, fragment, email")  # fmt: skip
    next_type = serializers.CharField(allow_blank=True, help_text="how a resend would send it (blank: no other way)")
    code_timeout = serializers.IntegerField(allow_null=True, help_text="seconds before a resend is offered")
    password_hint = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True, help_text="e.g. PHONE_CODE_INVALID, FLOOD_WAIT, NETWORK")
    error_text = serializers.CharField(allow_blank=True)
    flood_wait_seconds = serializers.IntegerField(allow_null=True)
    attempts = serializers.IntegerField()
    account = serializers.IntegerField(
        source="account_id", allow_null=True, help_text="the account made (done), or the one already this user (exists)"
    )
    replace = serializers.IntegerField(source="replace_id", allow_null=True)
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    poll = serializers.SerializerMethodField()

    def get_poll(self, login: Login) -> str:
        return reverse("login-detail", args=[login.pk])

    def to_representation(self, login: Login) -> dict:
        data = super().to_representation(login)
        data["next"] = NEXT_STEP.get(login.state)
        return data


class LoginStartSerializer(serializers.Serializer):
    phone = StrictCharField(max_length=40, help_text="international form, e.g. +14155550123")
    team = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    proxy = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                     help_text="every packet of the sign-in goes through it")  # fmt: skip
    replace = serializers.BooleanField(default=False, help_text="the number is an account's already: replace its "
                                       "session with the new one")  # fmt: skip


class LoginCodeSerializer(serializers.Serializer):
    code = StrictCharField(max_length=16)


class LoginPasswordSerializer(serializers.Serializer):
    password = StrictCharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})


class LoginRefusedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    account = serializers.IntegerField(required=False, allow_null=True, help_text="409: the account with this number")


REFUSED = OpenApiResponse(LoginRefusedSerializer, description="refused; `detail` says why")
INVALID = OpenApiResponse(OpenApiTypes.OBJECT, description="the input is refused: each field with what is wrong, or "
                          "`detail`")  # fmt: skip
STEP_RESPONSES = {200: LoginSerializer, 400: INVALID, 404: REFUSED, 409: REFUSED, 410: REFUSED, 429: REFUSED}


class LoginViewSet(viewsets.ViewSet):
    """Sign an account in: start with the phone, then send the code, then the two-step password if asked."""

    lookup_value_regex = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # a UUID as we print them

    @extend_schema(
        request=LoginStartSerializer,
        responses={201: LoginSerializer, 400: INVALID, 403: REFUSED, 409: REFUSED, 429: REFUSED},
        description="Ask Telegram for a login code for this number (state code_sent), or say why not "
        "(state failed with `error`). 409: the number is an account's already (`account`); start again "
        "with replace to give it the new session.",
    )
    def create(self, request: Request) -> Response:
        form = LoginStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            team = team_chosen(actor=request.user, team_id=data.get("team"), action="account.login.start")
            proxy = proxy_visible(request.user, data["proxy"]) if data.get("proxy") else None
            login = login_start(actor=request.user, phone=data["phone"], team=team, proxy=proxy,
                                replace=data["replace"])  # fmt: skip
        except TeamChoiceError as exc:
            raise ValidationError({"team": [str(exc)]}) from None
        except (LoginError, VaultKeyError) as exc:
            return _refused(exc)
        return Response(LoginSerializer(login).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: LoginSerializer, 404: REFUSED}, description="The sign-in as it stands.")
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(LoginSerializer(self._login(request, pk)).data)

    @extend_schema(
        responses=STEP_RESPONSES,
        description="Cancel the sign-in (a session it made but did not keep is logged out again).",
    )
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, pk, login_cancel)

    @extend_schema(
        request=LoginCodeSerializer,
        responses=STEP_RESPONSES,
        description="The code Telegram sent: done (the account is made), password_needed (with the "
        "hint), exists, or code_sent again with `error` (PHONE_CODE_INVALID, PHONE_CODE_EXPIRED).",
    )
    @action(detail=True, methods=["post"])
    def code(self, request: Request, pk: str | None = None) -> Response:
        form = LoginCodeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._step(request, pk, login_code, code=form.validated_data["code"])

    @extend_schema(request=LoginPasswordSerializer, responses=STEP_RESPONSES,
                   description="The two-step password (checked by SRP; never stored, logged or audited).")  # fmt: skip
    @action(detail=True, methods=["post"])
    def password(self, request: Request, pk: str | None = None) -> Response:
        form = LoginPasswordSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._step(request, pk, login_password, password=form.validated_data["password"])

    @extend_schema(
        request=None,
        responses=STEP_RESPONSES,
        description="Ask Telegram to send the code again, the next way (`next_type`).",
    )
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, pk, login_resend)

    @extend_schema(
        request=None,
        responses=STEP_RESPONSES,
        description="The sign-in reached a Telegram user "
        "tgfleet already holds (state exists): give that account the new session (audited).",
    )
    @action(detail=True, methods=["post"])
    def replace(self, request: Request, pk: str | None = None) -> Response:
        return self._step(request, pk, login_replace)

    def _login(self, request: Request, pk) -> Login:
        try:
            return login_for(actor=request.user, login_id=pk)
        except (Login.DoesNotExist, ValueError, DjangoValidationError):
            raise NotFound("no such sign-in") from None

    def _step(self, request: Request, pk, step, **kwargs) -> Response:
        self._login(request, pk)
        try:
            login = step(actor=request.user, login_id=pk, **kwargs)
        except (LoginError, VaultKeyError) as exc:
            return _refused(exc)
        return Response(LoginSerializer(login).data)


def _refused(exc: Exception) -> Response:
    status_code = getattr(exc, "status", status.HTTP_503_SERVICE_UNAVAILABLE)
    body = {"detail": str(exc)}
    if isinstance(exc, PhoneKnown):
        body["account"] = exc.account_id
    response = Response(body, status=status_code)
    if getattr(exc, "retry_after", None):
        response["Retry-After"] = str(exc.retry_after)
    return response
