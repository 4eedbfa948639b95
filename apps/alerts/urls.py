from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("warnings/", views.warning_list, name="warning-list"),
    path("warnings/<int:pk>/", views.warning_detail, name="warning-detail"),
    path("warnings/<int:pk>/colour/", views.warning_set_colour, name="warning-set-colour"),
    path("warnings/<int:pk>/feedback/", views.warning_feedback, name="warning-feedback"),
    path("warnings/<int:pk>/contacts/", views.warning_contact, name="warning-contact"),
    path("warnings/<int:pk>/cycle/", views.warning_complete_cycle, name="warning-complete-cycle"),
    path("warnings/<int:pk>/change-colour/", views.warning_change_colour, name="warning-change-colour"),
    path("warnings/<int:pk>/continue/", views.warning_continue, name="warning-continue"),
    path("warnings/<int:pk>/control/", views.warning_control, name="warning-control"),
    path("warnings/<int:pk>/responder/", views.warning_responder, name="warning-responder"),
    path("warnings/<int:pk>/close/", views.warning_close, name="warning-close"),
    path("tag/", views.tag_lookup, name="tag-lookup"),
    path("clients/<int:client_pk>/tag/", views.warning_tag, name="warning-tag"),
    path("policy/", views.policy, name="policy"),
]
