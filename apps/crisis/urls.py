from django.urls import path

from . import views

app_name = "crisis"

urlpatterns = [
    path("expressions/", views.expression_list, name="expression-list"),
    path("expressions/<int:pk>/toggle/", views.expression_toggle, name="expression-toggle"),
    path("handlers/", views.handler_list, name="handler-list"),
    path("handlers/<int:pk>/", views.handler_edit, name="handler-edit"),
]
