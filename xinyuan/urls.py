from importlib import import_module

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from apps.accounts.api import AssignmentViewSet, GrantRequestViewSet, RoleViewSet, UserViewSet
from apps.accounts.token_api import ApiTokenViewSet
from apps.appointments.api import AppointmentViewSet, RoomViewSet
from apps.audit.api import AuditEntryViewSet
from apps.casework.api import CaseViewSet, ConsentViewSet, ReceptionViewSet, SessionViewSet
from apps.clients.api import ClientViewSet
from apps.core import views as core_views
from apps.core.perms import AUTHENTICATED
from apps.notifications.api import NotificationViewSet
from apps.orgs.api import OrgUnitViewSet
from apps.outreach.api import (
    DisclosureViewSet,
    HomeVisitViewSet,
    InterventionViewSet,
    ReferralViewSet,
    RemoteInquiryViewSet,
)
from apps.screening.api import ImportBatchViewSet, ScreeningRecordViewSet
from apps.workdays.api import CalendarOverrideViewSet, WorkdayViewSet

router = DefaultRouter()
router.register("org-units", OrgUnitViewSet, basename="orgunit")
router.register("clients", ClientViewSet, basename="client")
router.register("cases", CaseViewSet, basename="case")
router.register("counselling-sessions", SessionViewSet, basename="counselling-session")
router.register("receptions", ReceptionViewSet, basename="reception")
router.register("consents", ConsentViewSet, basename="consent")
router.register("users", UserViewSet, basename="user")
router.register("assignments", AssignmentViewSet, basename="assignment")
router.register("grant-requests", GrantRequestViewSet, basename="grant-request")
router.register("roles", RoleViewSet, basename="role")
router.register("audit-entries", AuditEntryViewSet, basename="auditentry")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("calendar-overrides", CalendarOverrideViewSet, basename="calendar-override")
router.register("workdays", WorkdayViewSet, basename="workday")
router.register("outreach/inquiries", RemoteInquiryViewSet, basename="outreach-inquiry")
router.register("outreach/visits", HomeVisitViewSet, basename="outreach-visit")
router.register("outreach/interventions", InterventionViewSet, basename="outreach-intervention")
router.register("outreach/referrals", ReferralViewSet, basename="outreach-referral")
router.register("outreach/disclosures", DisclosureViewSet, basename="outreach-disclosure")
router.register("screening-records", ScreeningRecordViewSet, basename="screeningrecord")
router.register("screening-imports", ImportBatchViewSet, basename="screeningimport")
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("appointment-rooms", RoomViewSet, basename="appointment-room")
router.register("me/tokens", ApiTokenViewSet, basename="apitoken")  # the caller's own API tokens (issue 14)
# Modules added later list their endpoints in their api.ROUTES instead of editing this file.
MODULES_WITH_ROUTES = ("assessments", "alerts", "membership", "governance", "projects", "assistance")
for _module in MODULES_WITH_ROUTES:
    for _prefix, _viewset, _basename in import_module(f"apps.{_module}.api").ROUTES:
        router.register(_prefix, _viewset, basename=_basename)
router.APIRootView.permission_map = {"get": AUTHENTICATED}


class SchemaView(SpectacularAPIView):
    permission_map = {"get": AUTHENTICATED}


class DocsView(SpectacularSwaggerSplitView):
    permission_map = {"get": AUTHENTICATED}


urlpatterns = [
    path("", include(("apps.core.urls", "core"))),
    path("orgs/", include("apps.orgs.urls")),
    path("clients/", include("apps.clients.urls")),
    path("reports/", include("apps.reports.urls")),
    path("casework/", include("apps.casework.urls")),
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
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("outreach/", include("apps.outreach.urls")),
    path("crisis/", include("apps.crisis.urls")),
    path("screening/", include("apps.screening.urls")),
    path("appointments/", include("apps.appointments.urls")),
    path("book/", include("apps.appointments.public_urls")),
    *[path(f"{_module}/", include(f"apps.{_module}.urls")) for _module in MODULES_WITH_ROUTES],
]
