from django.urls import path

from . import views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("statistics/", views.statistics, name="statistics"),
    path("new/", views.project_create, name="project-create"),
    path("<int:pk>/", views.project_detail, name="project-detail"),
    path("<int:pk>/edit/", views.project_edit, name="project-edit"),
    path("<int:pk>/advance/", views.project_advance, name="project-advance"),
    path("<int:pk>/lines/", views.line_add, name="line-add"),
    path("<int:pk>/expenses/new/", views.expense_create, name="expense-create"),
    path("expenses/<int:pk>/decide/", views.expense_decide, name="expense-decide"),
    path("<int:pk>/milestones/", views.milestone_add, name="milestone-add"),
    path("milestones/<int:pk>/done/", views.milestone_done, name="milestone-done"),
    path("<int:pk>/reports/", views.report_schedule, name="report-schedule"),
    path("reports/", views.report_list, name="report-list"),
    path("reports/<int:pk>/submit/", views.report_submit, name="report-submit"),
    path("<int:pk>/quality-checks/new/", views.quality_create, name="quality-create"),
    path("<int:pk>/documents/", views.document_upload, name="document-upload"),
    path("documents/<int:pk>/", views.document_download, name="document-download"),
    path("<int:pk>/final-accounts/", views.final_accounts, name="final-accounts"),
    path("<int:pk>/accept/", views.project_accept, name="project-accept"),
]
