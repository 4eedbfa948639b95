from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from apps.core.pagination import keyset_page
from apps.core.perms import login_only

from . import selectors, services


def _back(request):
    """Where to return after a POST: the inbox page the user came from, never another site."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications:inbox")


@login_only
@require_GET
def inbox(request):
    """The user's own notifications, newest first: unread by default, or all of them."""
    show = "all" if request.GET.get("show") == "all" else "unread"
    page = keyset_page(selectors.my_notifications(request.user, show), request, descending=True)
    return render(request, "notifications/inbox.html", {"page": page, "show": show})


@login_only
@require_POST
def mark_read(request, pk):
    """Mark one notification read; with ``open`` go on to the page it points to."""
    notification = selectors.access_notification_by_id(request.user, pk)
    services.do_mark_read(actor=request.user, notification=notification)
    if request.POST.get("open") and notification.url:
        if url_has_allowed_host_and_scheme(notification.url, allowed_hosts={request.get_host()}):
            return redirect(notification.url)
    return _back(request)


@login_only
@require_POST
def mark_all_read(request):
    count = services.do_mark_all_read(actor=request.user)
    messages.success(request, f"已将 {count} 条通知标为已读。" if count else "没有未读通知。")
    return redirect(reverse("notifications:inbox"))
