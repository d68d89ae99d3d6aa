import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("tgfleet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from project import celery_metrics  # noqa: E402,F401 - task metrics for every worker and publisher
