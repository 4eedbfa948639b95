"""The project's URLconf plus this app's pages and API, mounted as xinyuan/urls.py will mount them.

Tests use it with ``@pytest.mark.urls`` until the lead engineer wires the app into xinyuan/urls.py.
"""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from apps.workdays.api import CalendarOverrideViewSet, WorkdayViewSet
from xinyuan.urls import urlpatterns as project_urlpatterns

router = SimpleRouter()
router.register("calendar-overrides", CalendarOverrideViewSet, basename="calendar-override")
router.register("workdays", WorkdayViewSet, basename="workday")

urlpatterns = [
    path("workdays/", include("apps.workdays.urls")),
    path("api/", include(router.urls)),
    *project_urlpatterns,
]
