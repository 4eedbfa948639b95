from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.entry_list, name="entry-list"),
    path("<int:pk>/", views.entry_detail, name="entry-detail"),
    path("export/", views.entry_export, name="entry-export"),
    path("verify/", views.verify, name="verify"),
]
