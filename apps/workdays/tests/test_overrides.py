"""Administrators' overrides: validation, permission, and the all-or-nothing notice import."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.workdays import services
from apps.workdays.models import CalendarOverride
from conftest import make_user

D = dt.date.fromisoformat

NOTICE_2099 = """
# 2099年部分节假日安排（测试数据）
2099-01-01,休,元旦
2099-01-24,休,春节
2099-01-25，休，春节
2099-01-31	班	春节调休	国办发明电〔2098〕1号
"""


@pytest.fixture
def calendar_admin(tree):
    return make_user("calendar_admin", tree.city, "system_admin", full_name="日历管理员")


def test_create_update_delete(calendar_admin):
    """S-FLOW-4: an administrator sets, changes and removes a day; the calendar follows."""
    row = services.do_create_override(
        actor=calendar_admin, date=D("2099-01-02"), is_workday=False, name=" 元旦 ", note="测试"
    )
    assert row.name == "元旦" and row.created_by == calendar_admin and not services.is_working_day(D("2099-01-02"))
    services.do_update_override(
        actor=calendar_admin, override=row, date=D("2099-01-03"), is_workday=True, name="元旦调休", note=""
    )
    row.refresh_from_db()
    assert (row.date, row.is_workday, row.name) == (D("2099-01-03"), True, "元旦调休")
    assert services.is_working_day(D("2099-01-03")) and services.is_working_day(D("2099-01-02"))
    services.do_delete_override(actor=calendar_admin, override=row)
    assert not CalendarOverride.objects.exists()


@pytest.mark.parametrize(
    ("field", "changes", "message"),
    [
        ("name", {"name": ""}, "请填写名称"),
        ("name", {"name": "   "}, "请填写名称"),
        ("name", {"name": "节" * 51}, "不能超过 50 个字符"),
        ("note", {"note": "注" * 201}, "不能超过 200 个字符"),
        ("date", {"date": D("2101-01-01")}, "1900—2100"),
        ("date", {"date": "2099-01-01"}, "有效的日期"),
        ("date", {"date": D("2099-05-01")}, "已有调整记录（劳动节）"),
        ("is_workday", {"is_workday": "yes"}, "放假还是上班"),
    ],
)
def test_bad_override_is_refused_and_changes_nothing(calendar_admin, field, changes, message):
    """S-FLOW-4: bad input gets a clear Chinese message on its field and writes nothing."""
    services.do_create_override(actor=None, date=D("2099-05-01"), is_workday=False, name="劳动节")
    values = {"date": D("2099-10-01"), "is_workday": False, "name": "国庆节", "note": ""} | changes
    with pytest.raises(ValidationError) as caught:
        services.do_create_override(actor=calendar_admin, **values)
    assert message in " ".join(caught.value.message_dict[field])
    assert CalendarOverride.objects.count() == 1


def test_update_keeps_its_own_date_and_refuses_anothers(calendar_admin):
    first = services.do_create_override(actor=None, date=D("2099-05-01"), is_workday=False, name="劳动节")
    services.do_create_override(actor=None, date=D("2099-05-02"), is_workday=False, name="劳动节")
    services.do_update_override(actor=calendar_admin, override=first, date=first.date, is_workday=False, name="五一")
    with pytest.raises(ValidationError, match="已有调整记录"):
        services.do_update_override(
            actor=calendar_admin, override=first, date=D("2099-05-02"), is_workday=False, name="五一"
        )
    first.refresh_from_db()
    assert (first.date, first.name) == (D("2099-05-01"), "五一")


def test_only_calendar_managers_may_change_the_calendar(tree, district_admin):
    """S-FLOW-4: deadlines of every unit depend on the calendar; only calendar.manage changes it."""
    with pytest.raises(ValidationError, match="无权维护节假日日历"):
        services.do_create_override(actor=district_admin, date=D("2099-01-01"), is_workday=False, name="元旦")
    with pytest.raises(ValidationError, match="无权维护节假日日历"):
        services.do_import_holiday_notice(actor=district_admin, text=NOTICE_2099)
    assert not CalendarOverride.objects.exists()


def test_notice_import_writes_every_line(calendar_admin):
    """S-FLOW-4, S-QUAL-2: next year's notice entered in bulk counts at once in deadlines."""
    assert not services.year_known(2099)
    result = services.do_import_holiday_notice(actor=calendar_admin, text=NOTICE_2099)
    assert len(result.created) == 4 and result.unchanged == () and result.years == [2099]
    rows = {o.date: o for o in CalendarOverride.objects.all()}
    assert rows[D("2099-01-25")].name == "春节" and not rows[D("2099-01-25")].is_workday
    assert rows[D("2099-01-31")].is_workday and rows[D("2099-01-31")].note == "国办发明电〔2098〕1号"
    assert all(o.created_by == calendar_admin for o in rows.values())
    assert services.year_known(2099)
    assert services.is_working_day(D("2099-01-31"))  # a Saturday made a working day
    # Friday 2099-01-23: Sat 1/24 and Sun 1/25 off anyway, Mon 1/26 = 1, ..., Fri 1/30 = 5, Sat 1/31 = 6.
    assert services.add_working_days(D("2099-01-23"), 6) == D("2099-01-31")


def test_notice_import_is_all_or_nothing_with_errors_per_line(calendar_admin):
    """S-FLOW-4: one bad line and nothing is written; every bad line is reported by its number."""
    text = "\n".join(
        [
            "2099-01-01,休,元旦",  # 1 valid
            "2099-02-30,休,春节",  # 2 no such date
            "2099-01-24,放,春节",  # 3 bad kind
            "2099-01-25,休,",  # 4 no name
            "2099-01-01,休,元旦",  # 5 repeats line 1
            "2099-01-26 休 春节",  # 6 no separators
            "2099-01-27,休," + "节" * 51,  # 7 name too long
            "2199-01-01,休,元旦",  # 8 out of range
        ]
    )
    with pytest.raises(ValidationError) as caught:
        services.do_import_holiday_notice(actor=calendar_admin, text=text)
    messages = caught.value.messages
    assert [m.split("：")[0] for m in messages] == ["第2行", "第3行", "第4行", "第5行", "第6行", "第7行", "第8行"]
    assert "日期“2099-02-30”无效" in messages[0]
    assert "应为“休”或“班”，不能是“放”" in messages[1]
    assert "请填写名称" in messages[2]
    assert "与第1行重复" in messages[3]
    assert "格式应为“日期,休或班,名称”" in messages[4]
    assert "不能超过 50 个字符" in messages[5]
    assert "1900—2100" in messages[6]
    assert not CalendarOverride.objects.exists()


def test_notice_import_skips_identical_rows_and_refuses_contradicting_ones(calendar_admin):
    """S-FLOW-4: pasting the same notice twice changes nothing; a contradiction is an error."""
    services.do_import_holiday_notice(actor=calendar_admin, text=NOTICE_2099)
    again = services.do_import_holiday_notice(actor=calendar_admin, text=NOTICE_2099 + "\n2099-01-26,休,春节")
    assert [o.date for o in again.created] == [D("2099-01-26")] and len(again.unchanged) == 4
    with pytest.raises(ValidationError) as caught:
        services.do_import_holiday_notice(actor=calendar_admin, text="2099-01-27,休,春节\n2099-01-31,休,春节")
    assert caught.value.messages == [
        "第2行：2099-01-31 已有不同的调整记录（春节调休，上班），请先在列表中修改或删除该记录。"
    ]
    assert CalendarOverride.objects.count() == 5


@pytest.mark.parametrize(("text", "message"), [("", "请粘贴至少一行"), ("\n# 只有注释\n", "请粘贴至少一行")])
def test_empty_notice_is_refused(calendar_admin, text, message):
    with pytest.raises(ValidationError, match=message):
        services.do_import_holiday_notice(actor=calendar_admin, text=text)


def test_overlong_notice_is_refused(calendar_admin):
    text = "\n".join(f"2099-01-01,休,元旦{i}" for i in range(401))
    with pytest.raises(ValidationError, match="一次最多导入 400 行"):
        services.do_import_holiday_notice(actor=calendar_admin, text=text)


def test_override_changes_are_audited(calendar_admin):
    """X-4: creating, changing and deleting a calendar override each write an audit entry."""
    from apps.audit.models import AuditEntry

    start = AuditEntry.objects.count()
    override = services.do_create_override(
        actor=calendar_admin, date=dt.date(2031, 1, 1), is_workday=False, name="元旦"
    )
    services.do_update_override(
        actor=calendar_admin, override=override, date=dt.date(2031, 1, 1), is_workday=False, name="元旦节"
    )
    services.do_delete_override(actor=calendar_admin, override=override)
    actions = list(AuditEntry.objects.order_by("seq")[start:].values_list("action", flat=True))
    assert actions == ["create", "update", "delete"]
