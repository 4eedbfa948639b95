from django.urls import path

from . import views

app_name = "casework"

urlpatterns = [
    path("cases/", views.case_list, name="case-list"),
    path("cases/new/", views.case_create, name="case-create"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    path("cases/<int:pk>/transition/", views.case_transition, name="case-transition"),
    path("cases/<int:pk>/counsellor/", views.case_counsellor, name="case-counsellor"),
    path("cases/<int:pk>/consents/new/", views.consent_create, name="consent-create"),
    path("cases/<int:pk>/override/", views.case_override, name="case-override"),
    path("cases/<int:pk>/sessions/new/", views.session_create, name="session-create"),
    path("consents/<int:pk>/withdraw/", views.consent_withdraw, name="consent-withdraw"),
    path("sessions/<int:pk>/", views.session_detail, name="session-detail"),
    path("receptions/", views.reception_list, name="reception-list"),
    path("receptions/new/", views.reception_create, name="reception-create"),
    path("receptions/<int:pk>/", views.reception_detail, name="reception-detail"),
    path("receptions/<int:pk>/open-case/", views.reception_open_case, name="reception-open-case"),
]
