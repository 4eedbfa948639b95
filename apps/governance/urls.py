from django.urls import path

from . import views

app_name = "governance"

urlpatterns = [
    path("meetings/", views.meeting_list, name="meeting-list"),
    path("meetings/new/", views.meeting_create, name="meeting-create"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting-detail"),
    path("meetings/<int:pk>/edit/", views.meeting_edit, name="meeting-edit"),
    path("meetings/<int:pk>/cancel/", views.meeting_cancel, name="meeting-cancel"),
    path("meetings/<int:pk>/attendance/", views.meeting_attendance, name="meeting-attendance"),
    path("meetings/<int:pk>/minutes/", views.meeting_minutes, name="meeting-minutes"),
    path("invitations/<int:pk>/leave-decision/", views.leave_decide, name="leave-decide"),
    path("invitations/<int:pk>/report-received/", views.report_receive, name="report-receive"),
    path("work-reports/", views.report_list, name="report-list"),
    path("duty-reports/", views.duty_list, name="duty-list"),
    path("duty-reports/new/", views.duty_create, name="duty-create"),
    path("duty-reports/<int:pk>/received/", views.duty_receive, name="duty-receive"),
    path("mine/", views.mine, name="mine"),
    path("mine/invitations/<int:pk>/leave/", views.my_leave, name="my-leave"),
    path("mine/invitations/<int:pk>/report/", views.my_report, name="my-report"),
    path("mine/duty-reports/<int:pk>/", views.my_duty, name="my-duty"),
]
