from django.urls import path

from . import views

app_name = "clients"

urlpatterns = [
    path("", views.client_list, name="client-list"),
    path("new/", views.client_create, name="client-create"),
    path("<int:pk>/", views.client_detail, name="client-detail"),
    path("<int:pk>/edit/", views.client_edit, name="client-edit"),
    path("<int:pk>/unmask/", views.client_unmask, name="client-unmask"),
    path("<int:pk>/registration-form.pdf", views.registration_form, name="registration-form"),
    path("<int:pk>/transfer/", views.client_transfer, name="client-transfer"),
    path("<int:pk>/merge/", views.client_merge, name="client-merge"),
    path("<int:pk>/guardians/new/", views.guardian_add, name="guardian-add"),
    path("guardians/<int:pk>/edit/", views.guardian_edit, name="guardian-edit"),
    path("guardians/<int:pk>/end/", views.guardian_end, name="guardian-end"),
    path("emergency/", views.emergency, name="emergency"),
]
