import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
application = get_wsgi_application()

# A served process's start-up heap (Django, every view and admin the URLconf imports, Telethon's thousands of TL
# classes) lives as long as the process: take it out of the collector's sight. Without this, a full collection
# rescans all of it every few dozen requests, one request in ~50 then taking 100+ ms more on the console pages.
get_resolver().url_patterns  # noqa: B018 (import every view now, so they are frozen too)
gc.freeze()
