"""End-to-end: a note-reading role is asked for by the street manager and approved by the security
administrator (issue 14 item 1, two-person rule)."""

import pytest
from django.core.management import call_command

from apps.accounts.models import Assignment, User

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_grant_request_is_approved_by_a_second_person(live_server, page_factory):
    """S-ORG-2, X-4, issue 14 item 1: request on the account page, approval on the security administrator's list."""
    call_command("seed_demo", part="base")
    base = live_server.url
    volunteer = User.objects.get(username="volunteer")

    street = page_factory()
    login(street, base, "street")
    street.goto(f"{base}/accounts/users/{volunteer.pk}/")
    street.select_option("#id_grant_role", label="心理咨询师")
    street.select_option("#id_grant_unit", str(volunteer.unit_id))
    street.fill("#id_grant_reason", "取得心理咨询师资质，承担社区咨询")
    street.click("button:has-text('提交申请')")
    street.wait_for_selector("text=授予申请已提交")
    assert "待审批" in street.inner_text("[data-testid=grant-requests]")
    shot(street, "70-grant-request-submitted")
    assert not Assignment.objects.filter(user=volunteer, role__code="counsellor").exists()

    security = page_factory()
    login(security, base, "secadmin")
    security.goto(f"{base}/accounts/grant-requests/")
    rows = security.inner_text("[data-testid=pending-grant-requests]")
    assert "志愿者小吴" in rows and "取得心理咨询师资质" in rows
    shot(security, "71-grant-requests-pending")
    security.click("button:has-text('批准')")
    security.wait_for_selector("text=已批准，角色已生效")
    shot(security, "72-grant-request-approved")
    assert Assignment.objects.filter(user=volunteer, role__code="counsellor").exists()
