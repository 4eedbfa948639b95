from django.urls import path

from . import views

app_name = "assessments"

urlpatterns = [
    path("", views.result_list, name="result-list"),
    path("results/<int:pk>/", views.result_detail, name="result-detail"),
    path("clients/<int:client_id>/", views.client_results, name="client-results"),
    path("clients/<int:client_id>/new/", views.result_create, name="result-create"),
    path("clients/<int:client_id>/links/", views.link_create, name="link-create"),
    path("links/<int:pk>/revoke/", views.link_revoke, name="link-revoke"),
    path("scales/", views.scale_list, name="scale-list"),
    path("scales/import/", views.scale_import, name="scale-import"),
    path("scales/<int:pk>/", views.scale_detail, name="scale-detail"),
    path("scales/<int:pk>/cutoffs/", views.cutoff_edit, name="cutoff-edit"),
    path("scales/<int:pk>/cutoffs/clear/", views.cutoff_clear, name="cutoff-clear"),
    path("t/<str:token>/", views.take, name="take"),
]
