import datetime
import io

import pytest
from openpyxl import Workbook

from apps.clients.services import do_register_client

SDS_REVERSE = {2, 5, 6, 11, 12, 14, 16, 17, 18, 20}


def sds_definition(**overrides) -> dict:
    """A Zung SDS shaped definition with neutral item text (the real wording is under licence)."""
    data = {
        "format": 1,
        "code": "SDS",
        "name": "抑郁自评量表（测试）",
        "instructions": "请根据最近一周的实际情况作答。",
        "licence": {"holder": "测试授权方", "terms": "仅供测试"},
        "options": [
            {"label": "没有或很少时间", "score": 1},
            {"label": "小部分时间", "score": 2},
            {"label": "相当多时间", "score": 3},
            {"label": "绝大部分或全部时间", "score": 4},
        ],
        "items": [{"number": n, "text": f"条目{n}", "reverse": n in SDS_REVERSE} for n in range(1, 21)],
        "scoring": {"method": "sum", "multiply": 1.25, "rounding": "floor", "score_name": "标准分"},
        "bands": [
            {"code": "normal", "label": "无抑郁", "min": 25, "max": 52, "level": "none"},
            {"code": "mild", "label": "轻度抑郁", "min": 53, "max": 62, "level": "mild"},
            {"code": "moderate", "label": "中度抑郁", "min": 63, "max": 72, "level": "moderate"},
            {"code": "severe", "label": "重度抑郁", "min": 73, "max": 100, "level": "severe"},
        ],
    }
    data.update(overrides)
    return data


@pytest.fixture
def client_a(tree):
    return do_register_client(
        actor=None, unit=tree.c1, data={"name": "张测评", "birth_date": datetime.date(1985, 5, 1)}
    )


@pytest.fixture
def client_b(tree):
    return do_register_client(
        actor=None, unit=tree.c2, data={"name": "李测评", "birth_date": datetime.date(1990, 2, 1)}
    )


def scale_workbook(items: int = 20) -> bytes:
    """An SDS-like scale definition as an .xlsx upload (sheets 量表, 选项, 条目, 分段)."""
    book = Workbook()
    meta = book.active
    meta.title = "量表"
    for row in [("项目", "内容"), ("编码", "SDS"), ("名称", "抑郁自评量表（测试）"), ("授权持有方", "测试授权方"),
                ("计分方式", "求和"), ("换算系数", 1.25), ("取整", "向下取整"), ("得分名称", "标准分")]:  # fmt: skip
        meta.append(row)
    options = book.create_sheet("选项")
    options.append(("选项", "分值"))
    for score, label in enumerate(["没有或很少时间", "小部分时间", "相当多时间", "绝大部分或全部时间"], start=1):
        options.append((label, score))
    sheet = book.create_sheet("条目")
    sheet.append(("题号", "题目", "反向计分"))
    for n in range(1, items + 1):
        sheet.append((n, f"条目{n}", "是" if n in SDS_REVERSE else ""))
    bands = book.create_sheet("分段")
    bands.append(("编码", "名称", "最低分", "最高分", "程度"))
    for row in [("normal", "无抑郁", 25, 49, "none"), ("mild", "轻度", 50, 59, "mild"),
                ("moderate", "中度", 60, 69, "moderate"), ("severe", "重度", 70, 100, "severe")]:  # fmt: skip
        bands.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
