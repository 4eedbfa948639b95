from django.urls import path

from . import views

app_name = "outreach"

urlpatterns = [
    path("inquiries/", views.inquiry_list, name="inquiry-list"),
    path("inquiries/overdue/", views.inquiry_overdue, name="inquiry-overdue"),
    path("inquiries/new/", views.inquiry_create, name="inquiry-create"),
    path("inquiries/<int:pk>/", views.inquiry_detail, name="inquiry-detail"),
    path("inquiries/<int:pk>/answer/", views.inquiry_answer, name="inquiry-answer"),
    path("visits/", views.visit_mine, name="visit-mine"),
    path("visits/<int:pk>/", views.visit_detail, name="visit-detail"),
    path("visits/<int:pk>/record/", views.visit_record, name="visit-record"),
    path("visits/<int:pk>/cancel/", views.visit_cancel, name="visit-cancel"),
    path("interventions/<int:pk>/", views.intervention_detail, name="intervention-detail"),
    path("referrals/", views.referral_list, name="referral-list"),
    path("referrals/<int:pk>/", views.referral_detail, name="referral-detail"),
    path("referrals/<int:pk>/outcome/", views.referral_outcome, name="referral-outcome"),
    path("clients/<int:client_pk>/", views.client_overview, name="client-overview"),
    path("clients/<int:client_pk>/visits/new/", views.visit_create, name="visit-create"),
    path("clients/<int:client_pk>/interventions/new/", views.intervention_create, name="intervention-create"),
    path("clients/<int:client_pk>/referrals/new/", views.referral_create, name="referral-create"),
    path("clients/<int:client_pk>/disclosures/new/", views.disclosure_create, name="disclosure-create"),
]
