from django.urls import path

from . import views

app_name = "assistance"

urlpatterns = [
    path("help/", views.help_list, name="help-list"),
    path("help/overdue/", views.help_overdue, name="help-overdue"),
    path("help/new/", views.help_create, name="help-create"),
    path("help/<int:pk>/", views.help_detail, name="help-detail"),
    path("help/<int:pk>/identity/", views.help_identity, name="help-identity"),
    path("help/<int:pk>/route/", views.help_route, name="help-route"),
    path("help/<int:pk>/assign/", views.help_assign, name="help-assign"),
    path("help/<int:pk>/close/", views.help_close, name="help-close"),
    path("settings/<int:pk>/", views.settings_edit, name="settings"),
    path("my/", views.my_overview, name="my"),
    path("my/help/<int:pk>/", views.my_help_detail, name="my-help-detail"),
    path("my/help/<int:pk>/accept/", views.my_help_accept, name="my-help-accept"),
    path("my/help/<int:pk>/decline/", views.my_help_decline, name="my-help-decline"),
    path("my/help/<int:pk>/close/", views.my_help_close, name="my-help-close"),
    path("my/hours/new/", views.hours_report, name="hours-report"),
    path("hours/", views.hours_list, name="hours-list"),
    path("hours/new/", views.hours_create, name="hours-create"),
    path("hours/<int:pk>/edit/", views.hours_edit, name="hours-edit"),
    path("hours/<int:pk>/confirm/", views.hours_confirm, name="hours-confirm"),
    path("hours/totals/", views.hours_totals, name="hours-totals"),
    path("hours/volunteer-ranking/", views.volunteer_ranking, name="volunteer-ranking"),
    path("responders/", views.responder_list, name="responder-list"),
    path("responders/new/", views.responder_create, name="responder-create"),
    path("responders/<int:pk>/edit/", views.responder_edit, name="responder-edit"),
    path("events/", views.event_list, name="event-list"),
    path("events/new/", views.event_create, name="event-create"),
    path("events/<int:pk>/", views.event_detail, name="event-detail"),
    path("events/<int:pk>/mobilise/", views.event_mobilise, name="event-mobilise"),
    path("events/<int:pk>/close/", views.event_close, name="event-close"),
    path("dispatches/<int:pk>/report/", views.dispatch_report, name="dispatch-report"),
    path("dispatches/<int:pk>/cancel/", views.dispatch_cancel, name="dispatch-cancel"),
    path("rota/", views.rota, name="rota"),
    path("rota/new/", views.shift_create, name="shift-create"),
    path("rota/<int:pk>/cancel/", views.shift_cancel, name="shift-cancel"),
]
