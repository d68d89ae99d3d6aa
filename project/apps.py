from django.apps import AppConfig
from django.db.models.signals import post_migrate

THIRD_PARTY_MODELS = (
    "django_celery_beat.PeriodicTask",
    "django_celery_beat.ClockedSchedule",
    "django_celery_beat.CrontabSchedule",
    "django_celery_beat.SolarSchedule",
    "django_celery_beat.IntervalSchedule",
    "axes.AccessAttempt",
    "axes.AccessLog",
    "axes.AccessFailureLog",
)


class ProjectConfig(AppConfig):
    """Project-wide pieces: periodic job registry, bootstrap commands, the ping task."""

    name = "project"
    verbose_name = "tgfleet"

    def ready(self) -> None:
        from project.access import access_rule_models, model_permission_rule
        from project.schedule import schedule_install

        # Schedules and login attempts belong to no team: their model permissions decide, all or nothing.
        access_rule_models(THIRD_PARTY_MODELS, model_permission_rule)

        def install_after_beat_tables(sender: AppConfig, using: str = "default", **kwargs: object) -> None:
            # post_migrate fires once per app; beat's own signal means its tables exist.
            if sender.label == "django_celery_beat":
                schedule_install(using=using)

        post_migrate.connect(install_after_beat_tables, weak=False, dispatch_uid="tgfleet-schedule-install")
