"""End-to-end: the standard's whole service flow (§7.3) as new users walk it, each role seeing only its part.

community worker screens a person → the person books on the public page → staff confirm and link the booking
to the register → reception registers → the counsellor records a session → home visit with two staff and a
family member → referral, with the disclosure register; then other roles look and see only what they should.
"""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.appointments.models import Appointment
from apps.casework.models import Case, CounsellingSession
from apps.clients.models import Client
from apps.core.scoping import unscoped
from apps.notifications.backends import sms_outbox
from apps.outreach.models import Disclosure, HomeVisit, Referral

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "13600001234"
NAME = "钟晓岚"


def test_whole_service_flow_and_who_sees_what(live_server, page_factory, settings):
    """S-CLIENT-3, S-FLOW-1, S-FLOW-2, S-FLOW-3, S-FLOW-5, S-FLOW-6, S-FLOW-8, S-PRIN-1, S-ORG-2: the whole flow."""
    settings.NOTIFY_SMS_BACKEND = "apps.notifications.backends.MemorySmsBackend"  # the booking code, unmasked
    sms_outbox.clear()
    call_command("seed_demo", part="service")
    base = live_server.url

    # 1. The community worker records a person found in routine screening (S-CLIENT-3).
    worker = page_factory()
    login(worker, base, "worker")
    worker.click("text=日常排查")
    worker.goto(f"{base}/screening/new/")
    worker.select_option("select[name=unit]", label="　　　东坡社区社会心理服务室")
    worker.fill("input[name=name]", NAME)
    worker.select_option("select[name=gender]", "female")
    worker.fill("input[name=birth_date]", "1988-04-12")
    worker.fill("input[name=phone]", PHONE)
    worker.select_option("select[name=risk_level]", index=1)
    worker.fill("textarea[name=finding]", "丈夫去世半年，独自抚养孩子，近期睡眠差、常哭泣。")
    shot(worker, "80-flow-screening-form")
    worker.click("button:has-text('保存')")
    message = worker.inner_text(".alert-success")
    client_pk = int(re.search(r"来访者 #(\d+)", message).group(1))
    shot(worker, "81-flow-screened")

    # 2. She books on the public page from her phone (S-FLOW-1).
    phone = page_factory(390, 844)
    phone.goto(f"{base}/book/")
    phone.click("text=东坡社区社会心理服务室")
    phone.wait_for_selector("[data-testid=slots] .slot-grid label")
    phone.click("[data-testid=slots] .slot-grid label >> nth=0")
    phone.fill("input[name=contact_name]", NAME)
    phone.fill("input[name=contact_phone]", PHONE)
    phone.fill("textarea[name=needs_symptoms]", "睡不好，想找人聊聊。")
    phone.check("#id_agree")
    phone.click("button:has-text('提交预约')")
    phone.fill("input[name=code]", sms_outbox[-1].params["code"])  # the SMS code (issue 14 item 4)
    phone.click("button:has-text('确认预约')")
    reference = phone.inner_text("[data-testid=reference]").strip()
    shot(phone, "82-flow-public-booking-reference")

    # 3. The community manager confirms, links the booking to the screened person and registers the reception.
    staff = page_factory()
    login(staff, base, "community")
    staff.click("text=预约管理")
    staff.fill("input[name=reference]", reference)
    staff.click("button:has-text('查找')")
    staff.click(f"text={reference}")
    staff.click("text=确认预约")
    staff.check("input[name=told_service]")
    staff.click("button:has-text('保存')")
    staff.wait_for_selector("text=预约已确认")
    matches = staff.inner_text("[data-testid=register-matches]")
    assert f"来访者 #{client_pk}" in matches  # found in the register by the booking's phone
    shot(staff, "83-flow-booking-matches")
    staff.click("[data-testid=register-matches] button:has-text('关联此来访者')")
    staff.wait_for_selector(f"text=已关联来访者 #{client_pk}")
    staff.click("text=接待登记")
    assert staff.input_value("input[name=client]") == str(client_pk)
    staff.fill("textarea[name=reason]", "丧偶后失眠、情绪低落半年。")
    staff.fill("textarea[name=history]", "无咨询史，未服药。")
    staff.fill("textarea[name=preliminary_analysis]", "丧亲后的哀伤反应，需评估抑郁程度。")
    staff.fill("textarea[name=next_step_plan]", "安排心理咨询，评估后决定是否转介。")
    staff.check("input[name=told_flow_rights]")
    shot(staff, "84-flow-reception-form")
    staff.click("button:has-text('保存')")
    staff.wait_for_selector("text=接待登记已保存")
    staff.select_option("select[name=counsellor]", label="钱咨询")
    staff.click("button:has-text('建立个案')")
    staff.wait_for_selector("text=变更记录")
    shot(staff, "85-flow-case-opened")
    with unscoped("assert what the browser created"):
        case = Case.objects.get(client_id=client_pk)
        assert Appointment.objects.get(reference=reference).client_id == client_pk
    assert case.counsellor.username == "counsellor"

    # 4. The counsellor records the session; the notes are hers to read (S-FLOW-5, S-PRIN-1).
    counsellor = page_factory()
    login(counsellor, base, "counsellor")
    counsellor.click("text=个案")
    counsellor.goto(f"{base}/casework/cases/{case.pk}/consents/new/")
    counsellor.select_option("select[name=kind]", "confidentiality_notice")
    counsellor.select_option("select[name=given_by]", "client")
    counsellor.fill("input[name=notice_version]", "2026版")
    counsellor.click("button:has-text('保存')")
    assert "保密原则及其例外告知（2026版）" in counsellor.inner_text("[data-testid=consents]")
    counsellor.select_option("select[name=to_state]", "active")
    counsellor.select_option("select[name=requested_by]", "client")
    counsellor.fill("textarea[name=reason]", "来访者知情同意后开始咨询。")
    counsellor.click("button:has-text('确认变更')")
    counsellor.wait_for_selector("[data-testid=case-state]:has-text('服务中')")
    shot(counsellor, "85b-flow-case-active")
    counsellor.goto(f"{base}/casework/cases/{case.pk}/sessions/new/")
    counsellor.fill("input[name=happened_at]", timezone.localtime().strftime("%Y-%m-%d %H:%M"))
    counsellor.fill("textarea[name=notes]", "来访者谈到丈夫去世当晚的情景，哭泣较多；睡眠 4 小时左右。")
    counsellor.fill("textarea[name=problem_focus]", "哀伤与失眠")
    counsellor.fill("textarea[name=framework]", "哀伤辅导，认知行为取向")
    counsellor.select_option("select[name=severe_disorder_judgement]", "suspected")
    counsellor.select_option("select[name=decision]", "refer")
    counsellor.check("input[name=recording_consent]")
    counsellor.select_option("select[name=recording_given_by]", "client")
    assert counsellor.locator("[name=diagnosis]").count() == 0  # the diagnosis field is the psychiatrist's
    shot(counsellor, "86-flow-session-form")
    counsellor.click("button:has-text('保存')")
    if not counsellor.query_selector("text=咨询记录已保存"):
        shot(counsellor, "86b-flow-session-refused")
        pytest.fail(counsellor.inner_text("main"))
    assert "丈夫去世当晚" in counsellor.inner_text("main")
    shot(counsellor, "87-flow-session-saved")
    with unscoped("the session the browser wrote"):
        session = CounsellingSession.objects.get(case=case)

    # 5. A home visit: planned with two staff, recorded with a family member present (S-FLOW-6).
    counsellor.goto(f"{base}/outreach/clients/{client_pk}/visits/new/")
    counsellor.select_option("select[name=kind]", "ad_hoc")
    counsellor.fill("input[name=planned_for]", (timezone.localdate() + timedelta(days=1)).isoformat())
    staff_boxes = counsellor.locator("input[name=staff]")
    for name in ("钱咨询", "辅导员小何"):
        counsellor.check(f"label:has-text('{name}') >> input[name=staff]")
    assert staff_boxes.count() >= 2
    counsellor.fill("textarea[name=preparation_notes]", "带上哀伤辅导手册，与社区专干同去。")
    counsellor.click("button:has-text('保存')")
    with unscoped("the visit the browser planned"):
        visit = HomeVisit.objects.get(client_id=client_pk, status="planned")
    counsellor.goto(f"{base}/outreach/visits/{visit.pk}/record/")
    counsellor.fill("input[name=family_present]", "钟母（母亲）")
    counsellor.fill("textarea[name=record]", "家中整洁，孩子由外婆照看；来访者情绪较上次平稳。")
    shot(counsellor, "88-flow-visit-record")
    counsellor.click("button:has-text('保存')")
    if not counsellor.query_selector("text=上门关怀记录已保存"):
        pytest.fail(counsellor.inner_text("main"))
    shot(counsellor, "88b-flow-visit-done")
    with unscoped("the visit record"):
        visit.refresh_from_db()
        assert visit.status == "done" and visit.staff.count() >= 2

    # 6. Referral with the consent reference; the disclosure register gets its line (S-FLOW-8).
    counsellor.goto(f"{base}/outreach/clients/{client_pk}/referrals/new/")
    counsellor.fill("input[name=institution]", "市精神卫生中心")
    counsellor.fill("input[name=referred_on]", timezone.localdate().isoformat())
    counsellor.fill("textarea[name=reason]", "持续失眠伴抑郁症状，需精神科评估。")
    counsellor.fill("textarea[name=materials]", "转介单\n接待登记表")
    counsellor.fill("input[name=consent_reference]", "同意书 2026-118")
    counsellor.fill("input[name=case_id]", str(case.pk))
    counsellor.click("button:has-text('保存')")
    counsellor.wait_for_selector("text=市精神卫生中心")
    shot(counsellor, "89-flow-referral")
    with unscoped("the referral and the disclosure line"):
        assert Referral.objects.filter(client_id=client_pk, institution="市精神卫生中心").exists()
        assert Disclosure.objects.filter(client_id=client_pk, recipient="市精神卫生中心").exists()
        assert Client.objects.get(pk=client_pk).unit.code == "DEMO-S1C1"

    # 7. Who sees what (S-ORG-2, S-PRIN-1): the worker sees the person but not the notes; another street and
    # the volunteer see nothing; the district sees the numbers.
    assert worker.goto(f"{base}/clients/{client_pk}/").status == 200
    assert worker.goto(f"{base}/casework/sessions/{session.pk}/").status in (403, 404)
    assert "丈夫去世当晚" not in worker.inner_text("body")
    assistant = page_factory()
    login(assistant, base, "assistant")
    assert assistant.goto(f"{base}/casework/sessions/{session.pk}/").status in (403, 404)
    street2 = page_factory()
    login(street2, base, "street2")
    assert street2.goto(f"{base}/clients/{client_pk}/").status == 404
    street2.goto(f"{base}/clients/?q={PHONE}")
    assert NAME not in street2.inner_text("main")
    shot(street2, "90-flow-other-street-sees-nothing")
    volunteer = page_factory()
    login(volunteer, base, "volunteer")
    assert "来访者" not in volunteer.inner_text("nav")
    assert volunteer.goto(f"{base}/clients/{client_pk}/").status in (403, 404)
    district = page_factory()
    login(district, base, "district")
    district.goto(f"{base}/reports/")
    assert "湖滨街道社会心理服务站" in district.inner_text("main")
    assert district.goto(f"{base}/casework/sessions/{session.pk}/").status in (403, 404)  # no note access
    shot(district, "91-flow-district-summary")
