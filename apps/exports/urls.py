from django.urls import path

from . import views

app_name = "exports"

urlpatterns = [
    path("", views.job_list, name="job-list"),
    path("new/xlsx/<slug:dataset>/", views.request_xlsx, name="request-xlsx"),
    path("new/csv/<slug:dataset>/", views.request_csv, name="request-csv"),
    path("<int:pk>/download/", views.download, name="download"),
]
