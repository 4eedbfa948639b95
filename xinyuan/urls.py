from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from apps.accounts.api import AssignmentViewSet, RoleViewSet, UserViewSet
from apps.core import views as core_views
from apps.core.perms import AUTHENTICATED
from apps.orgs.api import OrgUnitViewSet

router = DefaultRouter()
router.register("org-units", OrgUnitViewSet, basename="orgunit")
router.register("users", UserViewSet, basename="user")
router.register("assignments", AssignmentViewSet, basename="assignment")
router.register("roles", RoleViewSet, basename="role")
router.APIRootView.permission_map = {"get": AUTHENTICATED}


class SchemaView(SpectacularAPIView):
    permission_map = {"get": AUTHENTICATED}


class DocsView(SpectacularSwaggerView):
    permission_map = {"get": AUTHENTICATED}


urlpatterns = [
    path("", include(("apps.core.urls", "core"))),
    path("orgs/", include("apps.orgs.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("api/", include(router.urls)),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/setlang/", core_views.set_language_view, name="set_language"),
    path("healthz", core_views.healthz, name="healthz"),
]
