"""A URLconf for tests: the real one plus one view that forgot its permission declaration."""

from django.http import HttpResponse
from django.urls import include, path


def forgotten(request):
    return HttpResponse("oops")


urlpatterns = [
    path("", include("xinyuan.urls")),
    path("forgotten/", forgotten, name="forgotten"),
]
