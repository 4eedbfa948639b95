"""Spreadsheets for the screening tests and the benchmark: valid people, written with openpyxl."""

import datetime as dt
import io

from openpyxl import Workbook
from stdnum.cn import ric

from apps.screening.importer import TEMPLATE_HEADERS

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超"]
# Birth dates 1950-01-01 … 2004-10-04: every generated person is an adult, so a file of any size imports
# (a new person under 14 needs a guardian, S-CLIENT-4, and is refused by the import).
BIRTH_DAYS = 20000


def id_number(i: int, birth: dt.date, region: str = "330106") -> str:
    """A valid 18-digit resident ID; with the birth date below, unique for i < 20,000,000."""
    body = f"{region}{birth:%Y%m%d}{i // BIRTH_DAYS % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum drops the last character


def person_row(i: int, screened_on: str = "2026-03-02", **overrides) -> list:
    """One template row for person ``i``: name, ID, gender, birth, phone, address, categories, date, finding, risk."""
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=i % BIRTH_DAYS)
    row = {
        "name": SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 20) % len(GIVEN)] + GIVEN[i % len(GIVEN)],
        "id_number": id_number(i, birth),
        "gender": "",
        "birth_date": "",
        "phone": f"139{i:08d}",
        "address": f"测试路{i % 300}号",
        "categories": "失业、待业人员" if i % 3 == 0 else "",
        "screened_on": screened_on,
        "finding": "情绪低落，睡眠差" if i % 5 == 0 else "",
        "risk_level": "中" if i % 7 == 0 else "低",
    }
    row.update(overrides)
    return list(row.values())


def workbook_bytes(rows, headers=None) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("排查人员")
    sheet.append(headers or TEMPLATE_HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def people(n: int, start: int = 0, **overrides) -> bytes:
    return workbook_bytes(person_row(i, **overrides) for i in range(start, start + n))
