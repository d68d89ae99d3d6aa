"""Settings for bench/health_metrics.py: the project's, plus the baseline views' URLs and app."""

import os

from project.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "health_check"]  # noqa: F405
ROOT_URLCONF = "bench.bench_urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
if os.environ.get("BENCH_WITHOUT_METRICS") == "1":
    MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("django_prometheus")]  # noqa: F405
