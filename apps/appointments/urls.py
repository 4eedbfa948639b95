from django.urls import path

from . import views

app_name = "appointments"

urlpatterns = [
    path("manage/", views.appointment_list, name="appointment-list"),
    path("today/", views.today, name="today"),
    path("week/", views.week, name="week"),
    path("new/", views.appointment_create, name="appointment-create"),
    path("<int:pk>/", views.appointment_detail, name="appointment-detail"),
    path("<int:pk>/confirm/", views.appointment_confirm, name="appointment-confirm"),
    path("<int:pk>/change/", views.appointment_change, name="appointment-change"),
    path("<int:pk>/cancel/", views.appointment_cancel, name="appointment-cancel"),
    path("<int:pk>/close/", views.appointment_close, name="appointment-close"),
    path("<int:pk>/link-client/", views.appointment_link_client, name="appointment-link-client"),
    path("rooms/", views.room_list, name="room-list"),
    path("rooms/new/", views.room_create, name="room-create"),
    path("rooms/<int:pk>/edit/", views.room_edit, name="room-edit"),
    path("hours/new/", views.availability_create, name="availability-create"),
    path("hours/<int:pk>/delete/", views.availability_delete, name="availability-delete"),
    path("opening-hours/", views.opening_hours, name="opening-hours"),
    path("opening-hours/<int:pk>/delete/", views.opening_hours_delete, name="opening-hours-delete"),
]
