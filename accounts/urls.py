from rest_framework.routers import SimpleRouter

from accounts.api import AccountViewSet, JobViewSet

router = SimpleRouter(trailing_slash=False)
router.register("accounts", AccountViewSet, basename="account")
router.register("jobs", JobViewSet, basename="job")
urlpatterns = router.urls
