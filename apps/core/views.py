from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.i18n import set_language

from apps.core.access import active_grant, can, user_assignments

from .perms import Perm, login_only, public

set_language_view = public(set_language)


@login_only
def home(request):
    """The landing page: who you are acting as and which units you hold."""
    context = {"grant": active_grant(request.user), "assignments": user_assignments(request.user)}
    if can(request.user, Perm.CALENDAR_MANAGE):  # issue 12: the holiday-calendar warning, not only on its pages
        from apps.workdays.selectors import unknown_years

        context["unknown_years"] = unknown_years()
    return render(request, "core/home.html", context)


@public
@never_cache
def healthz(request):
    """For the reverse proxy and monitoring: answers without touching client data."""
    return JsonResponse({"status": "ok"})


@public
def favicon(request):
    """Browsers ask for /favicon.ico before they read a page's <link rel="icon">."""
    return HttpResponsePermanentRedirect(static("favicon.ico"))
