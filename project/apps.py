from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProjectConfig(AppConfig):
    """Project-wide pieces: periodic job registry, bootstrap commands, the ping task."""

    name = "project"
    verbose_name = "tgfleet"

    def ready(self) -> None:
        from project.schedule import schedule_install

        def install_after_beat_tables(sender: AppConfig, using: str = "default", **kwargs: object) -> None:
            # post_migrate fires once per app; beat's own signal means its tables exist.
            if sender.label == "django_celery_beat":
                schedule_install(using=using)

        post_migrate.connect(install_after_beat_tables, weak=False, dispatch_uid="tgfleet-schedule-install")
