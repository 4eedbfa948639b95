"""QA findings on the warning pages: local dates in the colour form, a link to the open file."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client as Browser

from apps.alerts import services
from apps.clients.services import do_register_client

from .conftest import phq9

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def browser(user):
    b = Browser()
    b.force_login(user)
    return b


def test_colour_form_shows_the_local_date_of_a_result(tree, worker, district_admin):
    """S-WARN-3, X-3: a result taken at 06:49 Beijing time on 12-01 (22:49 UTC on 11-30) is listed as 12-01."""
    client = do_register_client(actor=None, unit=tree.c1, data={"name": "早晨测评"})
    warning = services.do_tag_key_person(actor=worker, client=client, proposed_colour=2, reason="排查发现")
    result = phq9(client, 12, when=dt.datetime(2026, 12, 1, 6, 49, tzinfo=SH))
    form = browser(district_admin).get(f"/alerts/warnings/{warning.pk}/").context["set_form"]
    label = dict(form.fields["result"].choices)[result.pk]
    assert label.startswith("2026-12-01 ") and "2026-11-30" not in label


def test_tag_page_links_to_the_open_warning(tree, worker):
    """S-WARN-2: tagging a client who already has an open file says so and links to that file."""
    client = do_register_client(actor=None, unit=tree.c1, data={"name": "已有档案"})
    warning = services.do_tag_key_person(actor=worker, client=client, proposed_colour=2, reason="排查发现")
    http = browser(worker)
    page = http.post(f"/alerts/clients/{client.pk}/tag/", {"proposed_colour": "3", "reason": "再次上报"})
    text = page.content.decode()
    assert "已有一份未结案的预警档案" in text and f'href="/alerts/warnings/{warning.pk}/"' in text
    assert f'href="/alerts/warnings/{warning.pk}/"' in http.get(f"/alerts/clients/{client.pk}/tag/").content.decode()
