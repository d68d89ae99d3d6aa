"""Logins, logouts and failed logins go into the trail too."""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from audit.models import Outcome
from audit.services import AuditUnavailableError, audit_denied, audit_record, audit_secret_digest

logger = logging.getLogger(__name__)


@receiver(user_logged_in, dispatch_uid="audit-login")
def _logged_in(sender, request, user, **kwargs) -> None:
    """The event and last_login in one transaction (Django's own last_login receiver is disconnected): a login
    whose event cannot be written fails whole, and last_login does not move."""
    with transaction.atomic():
        audit_record(actor=user, action="auth.login", target=user)
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])


@receiver(user_logged_out, dispatch_uid="audit-logout")
def _logged_out(sender, request, user, **kwargs) -> None:
    """Logging out always works: an unwritable trail must not keep a session alive. The miss is logged."""
    if user is None:
        return
    try:
        audit_record(actor=user, action="auth.logout", target=user, outcome=Outcome.ALLOWED)
    except AuditUnavailableError:
        logger.error("Logout of %s not recorded: the audit trail could not be written", user.pk)


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    """A typed name that is no user's (a password in the wrong box, say) is kept only as a digest."""
    typed = str(credentials.get("username", ""))
    user = get_user_model().objects.filter(username=typed).first() if typed else None
    if user is not None:
        audit_denied(actor=None, action="auth.login", target=user)
    else:
        audit_denied(actor=None, action="auth.login", target_type="auth.user", target_text="unknown user",
                     details={"username": audit_secret_digest(typed)})  # fmt: skip
