"""End-to-end: a counsellor opens a case and reads a session's notes (the read is audited)."""

import pytest
from django.core.management import call_command

from apps.audit.models import AuditEntry
from apps.casework.models import CounsellingSession
from apps.core.scoping import unscoped

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_counsellor_reads_case_and_session(live_server, page_factory):
    """S-FLOW-5, S-PRIN-1, S-PRIN-3, X-4: case page with its events; session notes only for the counsellor, audited."""
    call_command("seed_demo", part="service")
    base = live_server.url
    with unscoped("pick a demo session in the counsellor's first community"):
        session = (
            CounsellingSession.objects.filter(case__unit__code="DEMO-S1C1")
            .select_related("case")
            .order_by("id")
            .first()
        )
    assert session is not None
    page = page_factory()
    login(page, base, "counsellor")
    page.click("text=个案")
    shot(page, "40-case-list")
    page.goto(f"{base}/casework/cases/{session.case_id}/")
    assert "变更记录" in page.inner_text("main") or "状态" in page.inner_text("main")
    shot(page, "41-case-detail")
    before = AuditEntry.objects.filter(action="read_sensitive").count()
    response = page.goto(f"{base}/casework/sessions/{session.pk}/")
    assert response.status == 200
    assert "咨询记录" in page.inner_text("main")
    shot(page, "42-session-detail")
    assert AuditEntry.objects.filter(action="read_sensitive").count() > before

    other = page_factory()
    login(other, base, "street2")  # another street, and no right to notes at all
    assert other.goto(f"{base}/casework/sessions/{session.pk}/").status in (403, 404)
