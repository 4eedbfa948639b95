from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("switch/", views.switch_assignment, name="switch"),
    path("me/", views.profile, name="profile"),
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
]
