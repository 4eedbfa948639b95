from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from apps.accounts.api import AssignmentViewSet, RoleViewSet, UserViewSet
from apps.audit.api import AuditEntryViewSet
from apps.clients.api import ClientViewSet
from apps.core import views as core_views
from apps.core.perms import AUTHENTICATED
from apps.notifications.api import NotificationViewSet
from apps.orgs.api import OrgUnitViewSet
from apps.workdays.api import CalendarOverrideViewSet, WorkdayViewSet

router = DefaultRouter()
router.register("org-units", OrgUnitViewSet, basename="orgunit")
router.register("clients", ClientViewSet, basename="client")
router.register("users", UserViewSet, basename="user")
router.register("assignments", AssignmentViewSet, basename="assignment")
router.register("roles", RoleViewSet, basename="role")
router.register("audit-entries", AuditEntryViewSet, basename="auditentry")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("calendar-overrides", CalendarOverrideViewSet, basename="calendar-override")
router.register("workdays", WorkdayViewSet, basename="workday")
router.APIRootView.permission_map = {"get": AUTHENTICATED}


class SchemaView(SpectacularAPIView):
    permission_map = {"get": AUTHENTICATED}


class DocsView(SpectacularSwaggerSplitView):
    permission_map = {"get": AUTHENTICATED}


urlpatterns = [
    path("", include(("apps.core.urls", "core"))),
    path("orgs/", include("apps.orgs.urls")),
    path("clients/", include("apps.clients.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("exports/", include("apps.exports.urls")),
    path("workdays/", include("apps.workdays.urls")),
    path("audit/", include("apps.audit.urls")),
    path("notifications/", include("apps.notifications.urls")),
    path("api/", include(router.urls)),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/setlang/", core_views.set_language_view, name="set_language"),
    path("healthz", core_views.healthz, name="healthz"),
]
