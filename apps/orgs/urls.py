from django.urls import path

from . import views

app_name = "orgs"

urlpatterns = [
    path("", views.unit_home, name="home"),
    path("<int:pk>/", views.unit_detail, name="unit-detail"),
    path("<int:pk>/children/", views.unit_children_fragment, name="unit-children"),
    path("<int:pk>/new/", views.unit_create, name="unit-create"),
    path("<int:pk>/edit/", views.unit_rename, name="unit-rename"),
    path("<int:pk>/move/", views.unit_move, name="unit-move"),
    path(
        "<int:pk>/deactivate/",
        views.unit_set_active,
        {"active": False},
        name="unit-deactivate",
    ),
    path(
        "<int:pk>/reactivate/",
        views.unit_set_active,
        {"active": True},
        name="unit-reactivate",
    ),
]
