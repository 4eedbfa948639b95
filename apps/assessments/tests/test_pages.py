"""Pages and API of assessments: paper entry, one-time links, scope, cut-off and import screens, query counts."""

import datetime
import io
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.assessments import services
from apps.assessments.models import AssessmentLink, AssessmentResult, CutoffSetting, Scale
from apps.audit.models import AuditEntry
from apps.core.scoping import unscoped

from .conftest import scale_workbook, sds_definition

pytestmark = pytest.mark.django_db


def browser(user=None):
    http = HttpClient()
    if user is not None:
        http.force_login(user)
    return http


def results():
    with unscoped("test reads every row"):
        return list(AssessmentResult.objects.order_by("id"))


def test_paper_entry_scores_and_redirects(counsellor_a, client_a):
    """S-WARN-1: staff enter a client's paper PHQ-9; it is scored at once and the detail shows the band."""
    http = browser(counsellor_a)
    url = reverse("assessments:result-create", args=[client_a.pk])
    assert "PHQ-9" in http.get(url).content.decode()
    page = http.get(url + "?scale=PHQ-9").content.decode()
    assert "做事时提不起劲或没有兴趣" in page
    data = {"administered_on": "2026-11-01T10:30", **{f"item_{n}": 2 for n in range(1, 10)}}
    data["item_9"] = 0
    response = http.post(url + "?scale=PHQ-9", data)
    [result] = results()
    assert response.status_code == 302 and response["Location"] == reverse(
        "assessments:result-detail", args=[result.pk]
    )
    assert result.score == 16 and result.band_code == "moderately_severe" and result.administered_by == counsellor_a
    assert timezone.localtime(result.administered_at).strftime("%Y-%m-%d %H:%M") == "2026-11-01 10:30"
    detail = http.get(response["Location"]).content.decode()
    assert "中重度抑郁" in detail and "16" in detail
    assert AuditEntry.objects.filter(action="read_sensitive", object_id=str(result.pk)).exists()


def test_paper_entry_missing_item_refused_in_chinese(counsellor_a, client_a):
    """X-4: a paper form with an unanswered item is refused in Chinese and nothing is saved."""
    data = {"administered_on": "2026-11-01T10:30", **{f"item_{n}": 1 for n in range(1, 7)}}
    response = browser(counsellor_a).post(
        reverse("assessments:result-create", args=[client_a.pk]) + "?scale=GAD-7", data
    )
    assert response.status_code == 200 and "第 7 题未作答" in response.content.decode()
    assert results() == []


def test_other_units_staff_get_404(counsellor_a, counsellor_b, outsider, client_a):
    """X-4: staff of a sibling unit or another tree get 404 for the client's pages, results and API rows."""
    result = services.do_record_result(actor=counsellor_a, client=client_a, scale_code="PHQ-9", answers=[1] * 9)
    urls = [
        reverse("assessments:client-results", args=[client_a.pk]),
        reverse("assessments:result-create", args=[client_a.pk]),
        reverse("assessments:result-detail", args=[result.pk]),
        reverse("assessments:link-create", args=[client_a.pk]),
    ]
    for user in (counsellor_b, outsider):
        http = browser(user)
        for url in urls:
            assert http.get(url).status_code == 404, url
        api = APIClient()
        api.force_authenticate(user)
        assert api.get(reverse("assessment-result-detail", args=[result.pk])).status_code == 404
        assert api.get(reverse("assessment-result-list")).json()["results"] == []
        created = api.post(
            reverse("assessment-result-list"),
            {"client": client_a.pk, "scale": "PHQ-9", "answers": [0] * 9},
            format="json",
        )
        assert created.status_code == 404
    assert len(results()) == 1


def test_client_results_page_with_trend_data(counsellor_a, client_a, django_assert_max_num_queries):
    """S-WARN-1: a client's results list and trend series per scale; queries do not grow with results."""
    now = timezone.now()
    for month in range(6):
        services.do_record_result(
            actor=counsellor_a,
            client=client_a,
            scale_code="PHQ-9",
            answers=[month % 4] * 8 + [0],
            administered_at=now - datetime.timedelta(days=30 * (6 - month)),
        )
    services.do_record_result(actor=counsellor_a, client=client_a, scale_code="WHO-5", answers=[3] * 5)
    http = browser(counsellor_a)
    url = reverse("assessments:client-results", args=[client_a.pk])
    http.get(url)
    with django_assert_max_num_queries(22):
        page = http.get(url).content.decode()
    series = json.loads(re.search(r'id="assessment-series" type="application/json">(.*?)</script>', page).group(1))
    assert [s["code"] for s in series] == ["PHQ-9", "WHO-5"]
    assert len(series[0]["points"]) == 6 and series[0]["points"][1][1] == 8.0
    assert "vendor/echarts/echarts.min.js" in page and "assessments/trend.js" in page


def test_result_list_scoped_filtered_and_bounded_queries(
    counsellor_a, street_manager, client_a, client_b, counsellor_b, django_assert_max_num_queries
):
    """X-4: the results list shows only the user's subtree, filters by level/critical, and keeps query counts flat."""
    for _ in range(15):
        services.do_record_result(actor=counsellor_a, client=client_a, scale_code="GAD-7", answers=[0] * 7)
    services.do_record_result(actor=counsellor_b, client=client_b, scale_code="PHQ-9", answers=[0] * 8 + [1])
    url = reverse("assessments:result-list")
    http = browser(street_manager)
    http.get(url)
    with django_assert_max_num_queries(20):
        page = http.get(url).content.decode()
    assert "李测评" in page and "张测评" in page
    critical = http.get(url + "?critical=1").content.decode()
    assert "李测评" in critical and "张测评" not in critical
    mine = browser(counsellor_a).get(url).content.decode()
    assert "张测评" in mine and "李测评" not in mine


def test_link_flow_consent_save_submit_once(counsellor_a, client_a, tree, django_capture_on_commit_callbacks):
    """S-WARN-1: a one-time link: consent first, progress saved between visits, one submission, then dead."""
    http = browser(counsellor_a)
    response = http.post(reverse("assessments:link-create", args=[client_a.pk]), {"scale": "GAD-7", "days": 3})
    page = response.content.decode()
    token = re.search(r"/assessments/t/([A-Za-z0-9_\-]+)/", page).group(1)
    assert "<svg" in page
    with unscoped("test inspects the stored link"):
        link = AssessmentLink.objects.get()
    assert token not in link.token_hash and link.token_hash == services.hash_token(token)
    phone = browser()
    url = reverse("assessments:take", args=[token])
    first = phone.get(url).content.decode()
    assert "知情同意与保密说明" in first and "感觉紧张" not in first
    assert "请勾选" in phone.post(url, {"action": "consent"}).content.decode()
    assert phone.post(url, {"action": "consent", "agree": "1"}).status_code == 302
    saved = phone.post(url, {"action": "save", "item_1": 2, "item_2": 1}).content.decode()
    assert "已保存 2 / 7 题" in saved
    resumed = browser().get(url).content.decode()  # a new visit: answers are still ticked
    assert re.search(r'name="item_1" value="2"[^>]*checked', resumed)
    incomplete = phone.post(url, {"action": "submit", "item_3": 1})
    assert "第 4 题未作答" in incomplete.content.decode() and results() == []
    assert "第 3 题" not in incomplete.content.decode()  # item 3 was kept with the progress
    with django_capture_on_commit_callbacks(execute=True):
        done = phone.post(url, {"action": "submit", **{f"item_{n}": 1 for n in range(3, 8)}})
    assert "提交成功" in done.content.decode()
    [result] = results()
    assert result.mode == "online" and result.administered_by is None and result.score == 8
    assert result.answers["1"] == 2 and result.answers["2"] == 1
    again = phone.get(url)
    assert again.status_code == 410 and "已提交" in again.content.decode()
    assert phone.post(url, {"action": "submit", **{f"item_{n}": 0 for n in range(1, 8)}}).status_code == 410
    assert len(results()) == 1
    assert browser().get(reverse("assessments:take", args=["nonsense"])).status_code == 404


def test_link_expiry_and_revocation(counsellor_a, client_a):
    """S-WARN-1: an expired or revoked link shows nothing of the questionnaire and accepts nothing."""
    link, token = services.do_create_link(actor=counsellor_a, client=client_a, scale_code="PHQ-9", days=1)
    with unscoped("test moves the expiry"):
        AssessmentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = browser().get(reverse("assessments:take", args=[token]))
    assert response.status_code == 410 and "已过期" in response.content.decode()
    with pytest.raises(ValidationError, match="已过期"):
        services.do_consent(link=services.link_by_token(token))
    other, other_token = services.do_create_link(actor=counsellor_a, client=client_a, scale_code="PHQ-9")
    http = browser(counsellor_a)
    assert http.post(reverse("assessments:link-revoke", args=[other.pk])).status_code == 302
    assert "已作废" in browser().get(reverse("assessments:take", args=[other_token])).content.decode()
    with pytest.raises(ValidationError, match="1–30"):
        services.do_create_link(actor=counsellor_a, client=client_a, scale_code="PHQ-9", days=31)


def test_api_create_result_and_link_and_read_scales(counsellor_a, client_a):
    """X-6: the API lists scales, records paper results (Chinese errors) and creates links with their URL once."""
    api = APIClient()
    api.force_authenticate(counsellor_a)
    scales = api.get(reverse("assessment-scale-list")).json()["results"]
    assert {"PHQ-9", "GAD-7", "PHQ-15", "WHO-5"} <= {s["code"] for s in scales}
    bad = api.post(
        reverse("assessment-result-list"), {"client": client_a.pk, "scale": "PHQ-9", "answers": [0] * 8}, format="json"
    )
    assert bad.status_code == 400 and "共 9 题" in json.dumps(bad.json(), ensure_ascii=False)
    ok = api.post(
        reverse("assessment-result-list"),
        {"client": client_a.pk, "scale": "PHQ-9", "answers": {str(n): 3 for n in range(1, 10)}},
        format="json",
    )
    assert ok.status_code == 201 and ok.json()["band_level"] == "severe" and ok.json()["critical_items"] == [9]
    listed = api.get(reverse("assessment-result-list") + f"?client={client_a.pk}").json()["results"]
    assert [r["id"] for r in listed] == [ok.json()["id"]]
    link = api.post(reverse("assessment-link-list"), {"client": client_a.pk, "scale": "WHO-5"}, format="json")
    assert link.status_code == 201 and "/assessments/t/" in link.json()["url"]
    assert "/api/assessments/" in api.get("/api/schema/").content.decode()


def test_cutoff_page_sets_unit_bands(district_admin, counsellor_a, client_a, tree):
    """S-WARN-6: the district sets PHQ-9 moderate from 7 on its page; a gap is refused in Chinese."""
    phq9 = Scale.objects.get(code="PHQ-9")
    http = browser(district_admin)
    url = reverse("assessments:cutoff-edit", args=[phq9.pk])
    assert "中度抑郁" in http.get(url).content.decode()
    values = {"min_0": 0, "max_0": 4, "min_1": 5, "max_1": 6, "min_2": 7, "max_2": 14, "min_3": 15, "max_3": 19}
    values.update({"min_4": 20, "max_4": 27})
    gap = http.post(url, {**values, "max_1": 5}).content.decode()
    assert "不在任何分段内：6" in gap and not CutoffSetting.objects.exists()
    assert http.post(url, values).status_code == 302
    assert CutoffSetting.objects.get().unit == tree.district
    result = services.do_record_result(
        actor=counsellor_a, client=client_a, scale_code="PHQ-9", answers=[1] * 7 + [0, 0]
    )
    assert result.band_code == "moderate"
    assert (
        "上级单位设置"
        in browser(counsellor_a).get(reverse("assessments:scale-detail", args=[phq9.pk])).content.decode()
    )


def test_scale_import_page_json_and_excel(district_admin, tree):
    """S-WARN-6: an administrator imports SDS from JSON, then a new version from Excel; bad files change nothing."""
    http = browser(district_admin)
    url = reverse("assessments:scale-import")
    bad = http.post(url, {"text": '{"code": "SDS"'}).content.decode()
    assert "JSON 格式错误" in bad
    invalid = http.post(url, {"text": json.dumps(sds_definition(licence={}))}).content.decode()
    assert "版权/授权持有方" in invalid and not Scale.objects.filter(code="SDS").exists()
    assert http.post(url, {"text": json.dumps(sds_definition())}).status_code == 302
    sds = Scale.objects.get(code="SDS")
    assert sds.tenant == tree.city

    buffer = io.BytesIO(scale_workbook())
    buffer.name = "sds.xlsx"
    response = http.post(url, {"file": buffer})
    assert response.status_code == 302, response.content.decode()[-2000:]
    version = sds.versions.order_by("-number").first()
    assert version.number == 2 and version.items[1]["reverse"] is True and version.bands[1]["min"] == "50"


def test_stale_link_object_cannot_submit_twice(counsellor_a, client_a):
    """S-WARN-1: exactly one submission, even from a second request holding an old copy of the link."""
    link, token = services.do_create_link(actor=counsellor_a, client=client_a, scale_code="WHO-5")
    services.do_consent(link=link)
    first = services.link_by_token(token)
    second = services.link_by_token(token)
    services.do_submit_link(link=first, answers={str(n): 3 for n in range(1, 6)})
    with pytest.raises(ValidationError, match="已提交"):
        services.do_submit_link(link=second, answers={str(n): 0 for n in range(1, 6)})
    with pytest.raises(ValidationError, match="已提交"):
        services.do_save_progress(link=second, answers={"1": 1})
    [result] = results()
    assert result.score == 60
