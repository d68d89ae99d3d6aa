from django.apps import AppConfig
from django.db.models.signals import post_migrate


def chain_head_after_flush(sender, using: str = "default", **kwargs) -> None:
    """`flush` (the test runner between tests, or an operator emptying everything on purpose) deletes the
    head that migration 0002 wrote; put a fresh one back. After a real `migrate` (which passes a plan) a
    missing head is left missing: it means rows were deleted, and appending refuses until someone looks."""
    if sender.name != "audit" or "plan" in kwargs:
        return
    from audit.models import AuditChainHead

    AuditChainHead.objects.using(using).get_or_create(pk=1)


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from audit import access, signals  # noqa: F401

        post_migrate.connect(chain_head_after_flush, dispatch_uid="tgfleet-audit-head-after-flush")
        # audit.signals writes last_login in the same transaction as the login's event.
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
