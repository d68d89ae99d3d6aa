"""Logins and failed logins go into the trail too."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.models import Outcome
from audit.services import audit_denied, audit_record


@receiver(user_logged_in, dispatch_uid="audit-login")
def _logged_in(sender, request, user, **kwargs) -> None:
    audit_record(actor=user, action="auth.login", target=user)


@receiver(user_logged_out, dispatch_uid="audit-logout")
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit_record(actor=user, action="auth.logout", target=user, outcome=Outcome.ALLOWED)


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    audit_denied(
        actor=None, action="auth.login", target_type="auth.user", target_text=str(credentials.get("username", ""))[:150]
    )
