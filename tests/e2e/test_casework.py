"""End-to-end: a counsellor opens a case and reads a session's notes (the read is audited)."""

import pytest
from django.core.management import call_command

from apps.audit.models import AuditEntry
from apps.casework.models import Case, CounsellingSession
from apps.core.scoping import unscoped

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_counsellor_reads_case_and_session(live_server, page_factory):
    """S-FLOW-5, S-PRIN-1, S-PRIN-3, X-4: case page with its events; session notes only for the counsellor,
    audited; a requested case withdrawn at the client's request (the counsellor's own refused on its field)."""
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

    # S-PRIN-1: a requested case is withdrawn at the client's request; the counsellor alone may not withdraw it
    with unscoped("pick the demo's requested case in the counsellor's first community"):
        requested = Case.objects.filter(unit__code="DEMO-S1C1", state="requested").order_by("id").first()
    assert requested is not None
    page.goto(f"{base}/casework/cases/{requested.pk}/")
    page.select_option("select[name=to_state]", "withdrawn")
    page.select_option("select[name=requested_by]", "counsellor")
    page.fill("textarea[name=reason]", "多次联系未果")
    page.click("button:has-text('确认变更')")
    assert "撤回申请须由来访者本人或其监护人提出" in page.inner_text(".invalid-feedback")
    shot(page, "43-case-withdraw-refused")
    page.select_option("select[name=requested_by]", "client")
    page.fill("textarea[name=reason]", "来访者来电表示已在医院就诊，不再需要本次咨询")
    page.click("button:has-text('保存')")
    page.wait_for_selector("[data-testid=case-state] >> text=已撤回申请")
    assert "提出人：来访者本人" in page.inner_text("[data-testid=events]")
    shot(page, "44-case-withdrawn")
