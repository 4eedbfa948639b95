"""The in-app inbox: each user sees and changes only their own notifications (X-7)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.notifications import selectors, services
from apps.notifications.models import Delivery, Notification


def notify(user, title="测试通知", url="", **extra):
    return services.notify_user(
        user=user, template="generic", context={"title": title, "body": extra.get("body", "")}, url=url
    )


def test_user_sees_only_own_notifications_in_inbox(alice, bob, client_of):
    """X-7: the inbox lists the user's own notifications and never another user's."""
    notify(alice, "给爱丽丝的通知")
    notify(bob, "给鲍勃的通知")
    page = client_of(bob).get(reverse("notifications:inbox")).content.decode()
    assert "给鲍勃的通知" in page
    assert "给爱丽丝的通知" not in page
    page = client_of(bob).get(reverse("notifications:inbox") + "?show=all").content.decode()
    assert "给爱丽丝的通知" not in page


def test_user_cannot_mark_someone_elses_notification(alice, bob, client_of):
    """X-7: Bob marking Alice's notification read gets 404 and changes nothing, by page, API or service."""
    mine = notify(alice, "爱丽丝的")
    client = client_of(bob)
    assert client.post(reverse("notifications:mark-read", args=[mine.pk])).status_code == 404
    assert client.post(f"/api/notifications/{mine.pk}/read/").status_code == 404
    assert client.get(f"/api/notifications/{mine.pk}/").status_code == 404
    assert client.post("/api/notifications/read-all/").json() == {"updated": 0}
    assert client.post(reverse("notifications:mark-all-read")).status_code == 302
    with pytest.raises(ValidationError, match="本人"):
        services.do_mark_read(actor=bob, notification=mine)
    mine.refresh_from_db()
    assert mine.read_at is None
    assert [n["title"] for n in client.get("/api/notifications/").json()["results"]] == []


def test_mark_one_and_all_read(alice, bob, client_of):
    """X-7: marking one read and marking all read touch only the user's own unread rows."""
    first, second, third = notify(alice, "一"), notify(alice, "二"), notify(alice, "三")
    bobs = notify(bob, "鲍勃")
    client = client_of(alice)
    response = client.post(reverse("notifications:mark-read", args=[first.pk]), {"next": "/notifications/?show=all"})
    assert response.status_code == 302 and response["Location"] == "/notifications/?show=all"
    first.refresh_from_db()
    assert first.read_at is not None
    assert selectors.unread_count(alice) == 2
    client.post(reverse("notifications:mark-all-read"))
    assert selectors.unread_count(alice) == 0
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.read_at and third.read_at
    bobs.refresh_from_db()
    assert bobs.read_at is None


def test_open_marks_read_and_goes_to_internal_link(alice, client_of):
    """X-7: opening a notification marks it read and follows its on-site link."""
    note = notify(alice, "请查看", url="/orgs/")
    response = client_of(alice).post(reverse("notifications:mark-read", args=[note.pk]), {"open": "1"})
    assert response.status_code == 302 and response["Location"] == "/orgs/"
    note.refresh_from_db()
    assert note.is_read


@pytest.mark.parametrize("url", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_external_links_are_refused(alice, url):
    """X-7: a notification links only to a path on this site; anything else is refused, nothing written."""
    with pytest.raises(ValidationError, match="本站内的路径"):
        notify(alice, url=url)
    assert not Notification.objects.exists()
    assert not Delivery.objects.exists()


def test_unread_badge_is_capped(alice, bob):
    """X-7: the bell shows nothing, the exact count, or "99+" above 99."""
    assert selectors.unread_badge(alice) == ""
    for i in range(3):
        notify(alice, f"第{i}条")
    assert selectors.unread_badge(alice) == "3"
    Notification.objects.bulk_create(
        Notification(recipient=alice, template="generic", title=f"批量{i}") for i in range(120)
    )
    assert selectors.unread_count(alice) == 100
    assert selectors.unread_badge(alice) == "99+"
    assert selectors.unread_badge(bob) == ""


def test_bell_links_to_inbox_with_count_in_one_bounded_query(alice, bob, client_of):
    """X-7: every page shows the unread count on the bell, from one query with LIMIT 100."""
    notify(alice, "一")
    notify(alice, "二")
    notify(bob, "鲍勃的")
    client = client_of(alice)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/").content.decode()
    bell = page[page.index('data-testid="bell"') - 200 : page.index('data-testid="bell"') + 300]
    assert 'href="/notifications/"' in bell
    assert ">2</span>" in bell
    counts = [q["sql"] for q in queries if "notifications_notification" in q["sql"]]
    assert len(counts) == 1
    assert "LIMIT 100" in counts[0].upper()


def test_anonymous_pages_do_not_count(client, db):
    """X-7: the context processor adds nothing for visitors who are not logged in."""
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("accounts:login"))
    assert not [q for q in queries if "notifications_notification" in q["sql"]]
    assert client.get(reverse("notifications:inbox")).status_code == 302


def test_inbox_is_keyset_paginated_with_fixed_queries(alice, client_of, django_assert_max_num_queries):
    """X-7: the inbox pages newest first by id, without COUNT of the list; the query count does not grow."""
    Notification.objects.bulk_create(
        Notification(recipient=alice, template="generic", title=f"通知{i:03d}") for i in range(60)
    )
    client = client_of(alice)
    with django_assert_max_num_queries(10):
        first = client.get(reverse("notifications:inbox") + "?show=all").content.decode()
    assert "通知059" in first and "通知010" in first and "通知009" not in first
    assert first.index("通知059") < first.index("通知010")
    assert "下一页" in first and "?show=all&after=" in first
    last_id = Notification.objects.order_by("-id").values_list("id", flat=True)[49]
    second = client.get(reverse("notifications:inbox") + f"?show=all&after={last_id}").content.decode()
    assert "通知009" in second and "通知000" in second and "通知010" not in second
    assert second.index("通知009") < second.index("通知000")


def test_body_is_escaped_on_the_page(alice, client_of):
    """X-7: text is stored as written and escaped when shown, so a body cannot inject markup."""
    notify(alice, "<b>标题</b>", body="<script>alert(1)</script>")
    note = Notification.objects.get()
    assert note.body == "<script>alert(1)</script>"
    page = client_of(alice).get(reverse("notifications:inbox")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_api_lists_newest_first_and_filters_unread(alice, bob, client_of):
    """X-7: the API lists the caller's notifications newest first; unread filter, count and mark read."""
    old, new = notify(alice, "旧"), notify(alice, "新")
    notify(bob, "鲍勃")
    client = client_of(alice)
    titles = [n["title"] for n in client.get("/api/notifications/").json()["results"]]
    assert titles == ["新", "旧"]
    assert client.get("/api/notifications/unread-count/").json() == {"count": 2, "badge": "2"}
    answer = client.post(f"/api/notifications/{old.pk}/read/").json()
    assert answer["is_read"] is True and answer["read_at"]
    titles = [n["title"] for n in client.get("/api/notifications/?unread=true").json()["results"]]
    assert titles == ["新"]
    assert client.post("/api/notifications/read-all/").json() == {"updated": 1}
    assert client.get("/api/notifications/unread-count/").json() == {"count": 0, "badge": ""}
    new.refresh_from_db()
    assert new.read_at is not None


def test_api_requires_login(client, db):
    """X-7: the notifications API answers only to a logged-in user."""
    assert client.get("/api/notifications/").status_code in (401, 403)
    assert client.post("/api/notifications/read-all/").status_code in (401, 403)
