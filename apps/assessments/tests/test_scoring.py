"""The scale engine and result recording: shipped scales, imports, reverse items, cut-offs, versions."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.assessments import engine, selectors, services
from apps.assessments.models import AssessmentResult, ImmutableError, Scale, ScaleVersion
from apps.assessments.signals import result_scored
from apps.audit.models import AuditEntry
from apps.casework.services import do_open_case
from apps.core.scoping import unscoped
from apps.notifications.models import Notification
from conftest import make_user

from .conftest import sds_definition

pytestmark = pytest.mark.django_db


def record(actor, client, code, answers, **kw):
    return services.do_record_result(actor=actor, client=client, scale_code=code, answers=answers, **kw)


def count_results():
    with unscoped("test counts every row"):
        return AssessmentResult.objects.count()


def test_shipped_scales_loaded_once():
    """S-WARN-1: PHQ-9, GAD-7, PHQ-15 and WHO-5 ship with Chinese text; loading again adds nothing."""
    codes = set(Scale.objects.filter(tenant__isnull=True).values_list("code", flat=True))
    assert {"PHQ-9", "GAD-7", "PHQ-15", "WHO-5"} <= codes
    assert services.load_builtin_scales() == []
    phq9 = Scale.objects.get(code="PHQ-9", tenant__isnull=True)
    version = phq9.versions.get()
    assert version.number == 1 and len(version.items) == 9
    assert "自己" in version.items[8]["text"]
    assert version.licence_holder.startswith("Pfizer")


@pytest.mark.parametrize(
    ("answers", "score", "band", "level", "critical"),
    [
        ([0] * 9, "0", "minimal", "none", []),
        ([1, 1, 1, 1, 1, 0, 0, 0, 0], "5", "mild", "mild", []),
        ([2, 2, 2, 1, 1, 1, 1, 0, 0], "10", "moderate", "moderate", []),
        ([2, 2, 2, 2, 2, 2, 2, 1, 0], "15", "moderately_severe", "severe", []),
        ([3] * 9, "27", "severe", "severe", [9]),
        ([0, 0, 0, 0, 0, 0, 0, 0, 1], "1", "minimal", "none", [9]),
    ],
)
def test_phq9_scores_and_item_9(counsellor_a, client_a, answers, score, band, level, critical):
    """S-WARN-1: PHQ-9 sums 0–3 per item into the standard bands; item 9 > 0 is critical whatever the total."""
    result = record(counsellor_a, client_a, "PHQ-9", answers)
    assert result.score == Decimal(score) and result.raw_score == Decimal(score)
    assert (result.band_code, result.band_level) == (band, level)
    assert result.critical_items == critical and result.critical is bool(critical)
    assert result.scale_version.scale.code == "PHQ-9"


def test_gad7_phq15_who5_known_vectors(counsellor_a, client_a):
    """S-WARN-1: known answer vectors for GAD-7, PHQ-15 and WHO-5 (raw × 4 = percentage, low is bad)."""
    gad = record(counsellor_a, client_a, "GAD-7", [3, 3, 2, 2, 2, 2, 1])
    assert (gad.score, gad.band_code, gad.band_level) == (Decimal(15), "severe", "severe")
    phq15 = record(counsellor_a, client_a, "PHQ-15", {str(n): 1 for n in range(1, 16)})
    assert (phq15.score, phq15.band_code, phq15.band_level) == (Decimal(15), "high", "severe")
    who_low = record(counsellor_a, client_a, "WHO-5", [1, 1, 1, 2, 1])
    assert who_low.raw_score == Decimal(6) and who_low.score == Decimal(24)
    assert (who_low.band_code, who_low.band_level) == ("very_low", "moderate")
    who_good = record(counsellor_a, client_a, "WHO-5", [5, 4, 4, 3, 4])
    assert who_good.score == Decimal(80) and who_good.band_level == "none"


def test_imported_sds_reverse_items_and_standard_score(district_admin, counsellor_a, client_a, tree):
    """S-WARN-1: an imported SDS mirrors items 2,5,6,11,12,14,16,17,18,20 and reports int(raw × 1.25)."""
    version = services.do_import_scale(actor=district_admin, data=sds_definition(), tenant=tree.city)
    assert version.number == 1 and version.licence_holder == "测试授权方" and version.imported_by == district_admin
    # every answer "1": 10 forward items score 1, 10 reverse items score 4 → raw 50, standard 62
    result = record(counsellor_a, client_a, "SDS", [1] * 20)
    assert result.raw_score == Decimal(50) and result.score == Decimal(62)
    assert result.band_code == "mild"
    # forward items 4, reverse items 1 → raw 80 → 100; and a floor case: raw 41 → 51.25 → 51
    assert (
        record(
            counsellor_a,
            client_a,
            "SDS",
            [4 if n not in {2, 5, 6, 11, 12, 14, 16, 17, 18, 20} else 1 for n in range(1, 21)],
        ).score
        == 100
    )
    answers = {str(n): (1 if n not in {2, 5, 6, 11, 12, 14, 16, 17, 18, 20} else 4) for n in range(1, 21)}
    answers["1"] = 2
    floor_case = record(counsellor_a, client_a, "SDS", answers)
    assert floor_case.raw_score == Decimal(21) and floor_case.score == Decimal(26)
    assert engine.reachable_scores(version.definition)[0] == Decimal(25)


def test_factor_means_for_multi_factor_scale(district_admin, counsellor_a, client_a, tree):
    """S-WARN-1: a multi-factor scale (SCL-90 style) stores each factor's item mean."""
    data = {
        "code": "SCL-T",
        "name": "多因子测试量表",
        "licence": {"holder": "测试授权方"},
        "options": [{"label": f"{s}级", "score": s} for s in range(1, 6)],
        "items": [{"number": n, "text": f"条目{n}"} for n in range(1, 7)],
        "scoring": {
            "method": "sum",
            "factors": [
                {"code": "SOM", "name": "躯体化", "items": [1, 2, 3]},
                {"code": "DEP", "name": "抑郁", "items": [4, 5, 6]},
            ],
        },
        "bands": [
            {"code": "ok", "label": "阴性", "min": 6, "max": 17, "level": "none"},
            {"code": "pos", "label": "阳性", "min": 18, "max": 30, "level": "moderate"},
        ],
    }
    services.do_import_scale(actor=district_admin, data=data, tenant=tree.city)
    result = record(counsellor_a, client_a, "SCL-T", [1, 2, 2, 5, 4, 4])
    assert result.factor_scores == {"SOM": "1.67", "DEP": "4.33"}
    assert result.score == 18 and result.band_code == "pos"


def test_import_refuses_bad_definitions_in_chinese_and_saves_nothing(district_admin, tree):
    """S-WARN-6: a definition with gaps, overlaps, bad options or no licence holder is refused whole."""
    before = (Scale.objects.count(), ScaleVersion.objects.count())
    bad = sds_definition(licence={})
    bad["bands"][1]["min"] = 54  # gap: 53 unreachable by any band
    bad["items"][3]["options"] = [{"label": "是", "score": 1}, {"label": "否", "score": 1}]
    with pytest.raises(ValidationError) as caught:
        services.do_import_scale(actor=district_admin, data=bad, tenant=tree.city)
    text = " ".join(caught.value.messages)
    assert "版权/授权持有方" in text and "分值必须互不相同" in text
    gap = sds_definition()
    gap["bands"][1]["min"] = 54
    with pytest.raises(ValidationError, match="53"):
        services.do_import_scale(actor=district_admin, data=gap, tenant=tree.city)
    overlap = sds_definition()
    overlap["bands"][1]["min"] = 50
    with pytest.raises(ValidationError, match="重叠"):
        services.do_import_scale(actor=district_admin, data=overlap, tenant=tree.city)
    with pytest.raises(ValidationError, match="内置量表"):
        services.do_import_scale(actor=district_admin, data=sds_definition(code="PHQ-9"), tenant=tree.city)
    assert (Scale.objects.count(), ScaleVersion.objects.count()) == before


def test_only_scale_managers_of_the_tenant_import(counsellor_a, outsider, tree):
    """X-4: importing a scale needs assessment.scale_manage inside that tenant."""
    with pytest.raises(PermissionDenied):
        services.do_import_scale(actor=counsellor_a, data=sds_definition(), tenant=tree.city)
    with pytest.raises(PermissionDenied):
        services.do_import_scale(actor=outsider, data=sds_definition(), tenant=tree.city)
    assert not Scale.objects.filter(code="SDS").exists()


def test_tenant_scales_stay_in_their_tree(district_admin, outsider, tree):
    """X-4: a scale imported by one tenant is invisible to another, which may import its own of the same code."""
    services.do_import_scale(actor=district_admin, data=sds_definition(), tenant=tree.city)
    assert selectors.scale_by_code("SDS", tree.other.pk) is None
    other = services.do_import_scale(actor=outsider, data=sds_definition(name="外区 SDS"), tenant=tree.other)
    assert selectors.scale_by_code("SDS", tree.other.pk) == other.scale
    assert selectors.scale_by_code("SDS", tree.city.pk) != other.scale


def test_new_version_never_rescores_old_results(district_admin, counsellor_a, client_a, tree):
    """S-WARN-6: a result keeps the version it was scored with; a new version scores only new results."""
    services.do_import_scale(actor=district_admin, data=sds_definition(), tenant=tree.city)
    old = record(counsellor_a, client_a, "SDS", [1] * 20)
    stricter = sds_definition()
    stricter["bands"] = [
        {"code": "normal", "label": "无抑郁", "min": 25, "max": 49, "level": "none"},
        {"code": "mild", "label": "轻度抑郁", "min": 50, "max": 59, "level": "mild"},
        {"code": "moderate", "label": "中度抑郁", "min": 60, "max": 69, "level": "moderate"},
        {"code": "severe", "label": "重度抑郁", "min": 70, "max": 100, "level": "severe"},
    ]
    v2 = services.do_import_scale(actor=district_admin, data=stricter, tenant=tree.city)
    assert v2.number == 2
    new = record(counsellor_a, client_a, "SDS", [1] * 20)
    with unscoped("test reloads"):
        old.refresh_from_db()
    assert old.scale_version.number == 1 and old.band_code == "mild"
    assert new.scale_version == v2 and new.band_code == "moderate"
    with pytest.raises(ValidationError, match="完全相同"):
        services.do_import_scale(actor=district_admin, data=stricter, tenant=tree.city)
    v2.definition["bands"] = []
    with pytest.raises(ImmutableError):
        v2.save()
    old.score = Decimal(1)
    with pytest.raises(ImmutableError):
        old.save()


def test_unit_cutoffs_override_and_inherit(
    district_admin, street_manager, counsellor_a, counsellor_b, client_a, client_b, tree
):
    """S-WARN-6: a unit's cut-offs (PHQ-9 ≥ 7 moderate) apply to its subtree; others keep the defaults."""
    phq9 = Scale.objects.get(code="PHQ-9")
    bands = [
        {"code": "minimal", "label": "无或极轻微抑郁", "min": 0, "max": 3, "level": "none"},
        {"code": "mild", "label": "轻度抑郁", "min": 4, "max": 6, "level": "mild"},
        {"code": "moderate", "label": "中度抑郁", "min": 7, "max": 14, "level": "moderate"},
        {"code": "severe", "label": "重度抑郁", "min": 15, "max": 27, "level": "severe"},
    ]
    before = record(counsellor_a, client_a, "PHQ-9", [1, 1, 1, 1, 1, 1, 1, 1, 0])
    assert before.band_code == "mild" and before.cutoff_source == "scale"
    with pytest.raises(PermissionDenied):
        services.do_set_cutoffs(actor=street_manager, unit=tree.s1, scale=phq9, bands=bands)
    services.do_set_cutoffs(actor=district_admin, unit=tree.district, scale=phq9, bands=bands)
    after = record(counsellor_a, client_a, "PHQ-9", [1, 1, 1, 1, 1, 1, 1, 1, 0])
    assert (after.score, after.band_code, after.cutoff_source, after.cutoff_unit) == (
        8,
        "moderate",
        "unit",
        tree.district,
    )
    assert record(counsellor_b, client_b, "PHQ-9", [1, 1, 1, 1, 1, 1, 1, 0, 0]).band_code == "moderate"
    with unscoped("test reloads"):
        before.refresh_from_db()
    assert before.band_code == "mild"  # cut-offs never rescore what was recorded
    gap = [dict(b) for b in bands]
    gap[1]["max"] = 5
    with pytest.raises(ValidationError, match="不在任何分段内：6。"):
        services.do_set_cutoffs(actor=district_admin, unit=tree.district, scale=phq9, bands=gap)
    assert selectors.cutoff_for(phq9, tree.c1).bands[1]["max"] == "6"
    services.do_clear_cutoffs(actor=district_admin, unit=tree.district, scale=phq9)
    assert record(counsellor_a, client_a, "PHQ-9", [1, 1, 1, 1, 1, 1, 1, 1, 0]).band_code == "mild"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([0] * 8, "共 9 题"),
        ({str(n): 0 for n in range(1, 9)}, "第 9 题未作答"),
        ({**{str(n): 0 for n in range(1, 10)}, "3": 5}, "第 3 题的答案“5”不是有效选项"),
        ({**{str(n): 0 for n in range(1, 10)}, "12": 1}, "没有这些题号：12"),
        ("0,0,0", "作答格式不对"),
    ],
)
def test_bad_answers_refused_in_chinese_nothing_saved(counsellor_a, client_a, answers, message):
    """X-4: bad answers are refused with a Chinese message and nothing is saved or audited."""
    audits = AuditEntry.objects.count()
    with pytest.raises(ValidationError, match=message):
        record(counsellor_a, client_a, "PHQ-9", answers)
    assert count_results() == 0 and AuditEntry.objects.count() == audits


def test_unknown_scale_and_future_time_refused(counsellor_a, client_a):
    """X-4: an unknown scale code or a future time is refused."""
    with pytest.raises(ValidationError, match="没有可用的量表"):
        record(counsellor_a, client_a, "XYZ", [0])
    with pytest.raises(ValidationError, match="不能晚于现在"):
        record(counsellor_a, client_a, "GAD-7", [0] * 7, administered_at=timezone.now() + datetime.timedelta(days=1))
    assert count_results() == 0


def test_scope_out_of_unit_staff_cannot_record(counsellor_b, outsider, client_a):
    """X-4: staff of another unit cannot record a result for the client."""
    for actor in (counsellor_b, outsider):
        with pytest.raises(PermissionDenied):
            record(actor, client_a, "PHQ-9", [0] * 9)
    assert count_results() == 0


def test_recording_audits_and_sends_signal_on_commit(counsellor_a, client_a, django_capture_on_commit_callbacks):
    """X-4: a recorded result is audited; result_scored is sent on commit with the result."""
    received = []

    def listener(sender, result, **kwargs):
        received.append(result)

    result_scored.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = record(counsellor_a, client_a, "GAD-7", [1] * 7)
            assert received == []
    finally:
        result_scored.disconnect(listener)
    assert received == [result]
    entry = AuditEntry.objects.filter(object_type="assessments.assessmentresult", object_id=str(result.pk)).get()
    assert entry.action == "create" and entry.unit_id == client_a.unit_id


def test_alarming_result_notifies_counsellor_and_managers_minimally(tree, counsellor_a, street_manager, client_a):
    """S-WARN-1: a critical item or a severe band notifies the case counsellor and unit managers, no answers."""
    manager = make_user("c1_manager", tree.c1, "community_manager")
    worker = make_user("c1_worker", tree.c1, "community_worker")
    do_open_case(actor=counsellor_a, client=client_a, counsellor=counsellor_a)
    record(worker, client_a, "PHQ-9", [0] * 9)
    assert Notification.objects.count() == 0
    result = record(worker, client_a, "PHQ-9", [0, 0, 0, 0, 0, 0, 0, 0, 2])
    notes = list(Notification.objects.order_by("recipient_id"))
    assert {n.recipient for n in notes} == {counsellor_a, manager}
    for note in notes:
        assert "危急条目" in note.body and str(result.pk) in note.url
        assert "死" not in note.body and "伤害" not in note.body and "张测评" not in note.body
    # the counsellor entering a severe result is not told what they already see
    record(counsellor_a, client_a, "GAD-7", [3] * 7)
    assert Notification.objects.filter(recipient=counsellor_a).count() == 1
    assert Notification.objects.filter(recipient=manager).count() == 2
    assert not Notification.objects.filter(recipient=street_manager).exists()


def test_selectors_latest_and_series(counsellor_a, client_a):
    """S-WARN-1: latest_result and results_for give the alerts module a client's series per scale."""
    now = timezone.now()
    first = record(counsellor_a, client_a, "PHQ-9", [1] * 9, administered_at=now - datetime.timedelta(days=60))
    second = record(counsellor_a, client_a, "PHQ-9", [2] * 9, administered_at=now - datetime.timedelta(days=30))
    record(counsellor_a, client_a, "GAD-7", [0] * 7)
    assert selectors.latest_result(client_a, "PHQ-9") == second
    assert list(selectors.results_for(client_a, "PHQ-9")) == [first, second]
    assert selectors.latest_result(client_a, "WHO-5") is None


def test_demo_seed_gives_months_of_results_with_alarms(tree):
    """S-WARN-1: demo data gives clients six months of results, a few severe and one critical."""
    from apps.assessments.demo import seed_demo_assessments
    from apps.clients.services import do_register_client

    for n in range(4):
        do_register_client(actor=None, unit=tree.c1, data={"name": f"演示{n}", "birth_date": datetime.date(1980, 1, 1)})
    count = seed_demo_assessments({"community-1-1": tree.c1, "district": tree.district}, {})
    with unscoped("test counts every row"):
        rows = list(AssessmentResult.objects.all())
    assert count == len(rows) == 4 * (6 * 2 + 3)
    assert any(r.critical for r in rows) and any(r.band_level == "severe" for r in rows)
    span = max(r.administered_at for r in rows) - min(r.administered_at for r in rows)
    assert span.days >= 140
