from django.urls import path

from . import public_views

app_name = "appointments-public"

urlpatterns = [
    path("", public_views.choose_unit, name="choose-unit"),
    path("<int:unit_id>/", public_views.book, name="book"),
    path("verify/", public_views.verify, name="verify"),
    path("done/", public_views.done, name="done"),
]
