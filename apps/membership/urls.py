from django.urls import path

from . import views

app_name = "membership"

urlpatterns = [
    path("overview/", views.dashboard, name="dashboard"),
    # public
    path("apply/", views.apply_start, name="apply-start"),
    path("apply/<int:association_id>/", views.apply, name="apply"),
    path("status/", views.status, name="status"),
    path("verify/<str:token>/", views.verify, name="verify"),
    # applications
    path("applications/", views.application_list, name="application-list"),
    path("applications/<int:pk>/", views.application_detail, name="application-detail"),
    path("applications/<int:pk>/review/", views.application_review, name="application-review"),
    path("applications/<int:pk>/simplified/", views.application_simplified, name="application-simplified"),
    path("applications/<int:pk>/ballot/", views.application_ballot, name="application-ballot"),
    path("applications/<int:pk>/close-vote/", views.application_close_vote, name="application-close-vote"),
    path("applications/<int:pk>/photo/", views.application_photo, name="application-photo"),
    path("certificates/<int:pk>/scan/", views.certificate_scan, name="certificate-scan"),
    path("certificates/expiring/", views.certificate_expiring, name="certificate-expiring"),
    # members
    path("members/", views.member_list, name="member-list"),
    path("members/<int:pk>/", views.member_detail, name="member-detail"),
    path("members/<int:pk>/photo/", views.member_photo, name="member-photo"),
    path("members/<int:pk>/photo/upload/", views.member_photo_upload, name="member-photo-upload"),
    path("members/<int:pk>/card.pdf", views.member_card, name="member-card"),
    path("members/<int:pk>/committees/", views.member_committee_join, name="member-committee-join"),
    path("members/<int:pk>/certificates/", views.member_certificate_add, name="member-certificate-add"),
    path("members/<int:pk>/conduct/", views.member_conduct_add, name="member-conduct-add"),
    path("members/<int:pk>/revoke/", views.member_revoke, name="member-revoke"),
    path("committee-memberships/<int:pk>/leave/", views.committee_leave, name="committee-leave"),
    # dues
    path("dues/", views.dues, name="dues"),
    path("dues/pay/", views.dues_pay, name="dues-pay"),
    path("dues/rate/", views.dues_rate, name="dues-rate"),
    path("dues/arrears/", views.dues_arrears, name="dues-arrears"),
    # bodies and positions
    path("positions/", views.position_list, name="position-list"),
    path("positions/new/", views.position_create, name="position-create"),
    path("positions/vote-rules/", views.vote_rules, name="vote-rules"),
    path("positions/<int:pk>/filing/", views.position_filing, name="position-filing"),
    path("positions/<int:pk>/end/", views.position_end, name="position-end"),
    # conduct
    path("complaints/", views.complaint_list, name="complaint-list"),
    path("complaints/new/", views.complaint_create, name="complaint-create"),
    path("complaints/<int:pk>/decide/", views.complaint_decide, name="complaint-decide"),
    # self-service
    path("me/", views.me, name="me"),
    path("me/<int:pk>/card.pdf", views.me_card, name="me-card"),
    path("me/<int:pk>/photo/", views.me_photo, name="me-photo"),
]
