from django.urls import path

from . import security_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("switch/", views.switch_assignment, name="switch"),
    path("me/", views.profile, name="profile"),
    path("me/token/", views.api_token, name="api-token"),
    path("users/", views.user_list, name="user-list"),
    path("users/new/", views.user_create, name="user-create"),
    path("users/<int:pk>/", views.user_detail, name="user-detail"),
    path("users/<int:pk>/edit/", views.user_edit, name="user-edit"),
    path("users/<int:pk>/disable/", views.user_set_active, {"active": False}, name="user-disable"),
    path("users/<int:pk>/enable/", views.user_set_active, {"active": True}, name="user-enable"),
    path("users/<int:pk>/password/", views.user_set_password, name="user-password"),
    path("users/<int:pk>/assign/", views.user_assign, name="user-assign"),
    path("assignments/<int:pk>/revoke/", views.assignment_revoke, name="assignment-revoke"),
    path("roles/", views.role_list, name="role-list"),
    path("users/<int:pk>/security-password/", views.user_security_password, name="user-security-password"),
    path("users/<int:pk>/grant-request/", views.grant_request_create, name="grant-request-create"),
    path("grant-requests/", views.grant_request_list, name="grant-request-list"),
    path("users/<int:pk>/security-assign/", views.user_security_assign, name="user-security-assign"),
    path("assignments/<int:pk>/security-revoke/", views.assignment_security_revoke, name="assignment-security-revoke"),
    path("grant-requests/<int:pk>/decide/", views.grant_request_decide, name="grant-request-decide"),
    path("2fa/setup/", security_views.two_factor_setup, name="two-factor-setup"),
    path("2fa/verify/", security_views.two_factor_verify, name="two-factor-verify"),
    path("reauth/", security_views.reauth, name="reauth"),
    path("lockouts/", security_views.lockouts, name="lockouts"),
    path("lockouts/reset/", security_views.lockout_reset, name="lockout-reset"),
    path("users/<int:pk>/2fa-reset/", security_views.two_factor_reset, name="two-factor-reset"),
    path("users/<int:pk>/tokens-revoke/", security_views.user_tokens_revoke, name="user-tokens-revoke"),
]
