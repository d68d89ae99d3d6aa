from rest_framework.routers import SimpleRouter

from accounts.api import AccountViewSet, JobViewSet
from accounts.api_logins import LoginViewSet
from accounts.api_proxies import ProxyViewSet

router = SimpleRouter(trailing_slash=False)
router.register("accounts", AccountViewSet, basename="account")
router.register("jobs", JobViewSet, basename="job")
router.register("proxies", ProxyViewSet, basename="proxy")
router.register("logins", LoginViewSet, basename="login")
urlpatterns = router.urls
