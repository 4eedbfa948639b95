from django.urls import path

from . import views

app_name = "workdays"

urlpatterns = [
    path("", views.override_list, name="override-list"),
    path("new/", views.override_create, name="override-create"),
    path("<int:pk>/edit/", views.override_edit, name="override-edit"),
    path("<int:pk>/delete/", views.override_delete, name="override-delete"),
    path("import/", views.override_import, name="override-import"),
    path("year/<int:year>/", views.year_view, name="year"),
    path("calculator/", views.calculator, name="calculator"),
]
