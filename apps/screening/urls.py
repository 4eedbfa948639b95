from django.urls import path

from . import views

app_name = "screening"

urlpatterns = [
    path("", views.record_list, name="record-list"),
    path("new/", views.record_create, name="record-create"),
    path("imports/", views.batch_list, name="batch-list"),
    path("imports/<int:pk>/", views.batch_detail, name="batch-detail"),
    path("imports/<int:pk>/status/", views.batch_status, name="batch-status"),
    path("imports/<int:pk>/report.xlsx", views.batch_report, name="batch-report"),
    path("template.xlsx", views.template_download, name="template"),
]
