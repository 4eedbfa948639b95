"""Spreadsheets the screening module writes with openpyxl: the import template and error reports."""

import io

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from apps.clients.models import ServiceTargetCategory

from .importer import COLUMNS, TEMPLATE_HEADERS
from .services import max_rows

BOLD = Font(bold=True)
REQUIRED = PatternFill("solid", fgColor="FFF2CC")
WIDTHS = {"name": 12, "id_number": 22, "gender": 8, "birth_date": 13, "phone": 16, "address": 30,
          "categories": 26, "screened_on": 13, "finding": 40, "risk_level": 10}  # fmt: skip


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_bytes() -> bytes:
    """The import template: the header row, text-formatted ID and phone columns, and a notes sheet."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "排查人员"
    sheet.append(TEMPLATE_HEADERS)
    for index, (key, _, required) in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = WIDTHS[key]
        cell = sheet.cell(row=1, column=index)
        cell.font = BOLD
        if required:
            cell.fill = REQUIRED
        if key in ("id_number", "phone", "birth_date", "screened_on"):
            # Text format keeps 18-digit ID numbers exact (Excel rounds numbers to 15 digits).
            for row in range(2, 1002):
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("填写说明")
    lines = [
        ("填写说明", ""),
        ("第一行表头不要修改；从第二行起每行填写一人。带 * 的列必填。", ""),
        ("身份证号码", "18 位，填写后自动得出出生日期和性别；请设为文本格式，防止 Excel 改写末尾数字。"),
        ("出生日期、排查日期", "格式 YYYY-MM-DD，如 2026-03-15，也可以是 Excel 日期单元格。"),
        ("性别", "男、女 或 未说明；填写了身份证号码时以身份证号码为准。"),
        ("联系电话", "手机号码，或带区号的固定电话，如 0571-87654321。"),
        ("服务对象类别", "下列名称之一；多个类别用分号（;）分隔。"),
        ("风险等级", "低、中 或 高；不填按“低”处理。"),
        ("重复检查", "同一人员（身份证号码、联系电话、或姓名加出生日期相同）在文件中只能出现一次。"),
        ("", "已在本单位或下级单位登记的人员自动关联原档案；已在其他单位登记的人员请联系上级单位。"),
        ("", "同一人员同一排查日期已导入过的行会跳过，重复上传同一文件不会产生重复记录。"),
        ("上限", f"单个文件不超过 20 MB、{max_rows():,} 行；只要有一行有问题，整个文件都不导入，请按错误报告修改。"),
        ("", "不要添加模板以外的列、不要合并表头单元格、不要使用公式（请粘贴为数值），否则整个文件不导入。"),
        ("", ""),
        ("服务对象类别名称", ""),
    ]
    lines += [(c.name, "") for c in ServiceTargetCategory.objects.filter(is_active=True)]
    for line in lines:
        notes.append(list(line))
    notes["A1"].font = BOLD
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 90
    return _save(workbook)


def report_bytes(batch) -> bytes:
    """The batch's row-by-row report (行号, 列, 问题) as a workbook."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "导入结果"
    sheet.append(["文件", batch.file_name])
    sheet.append(["结果", batch.get_status_display()])
    sheet.append(["说明", batch.message])
    sheet.append([])
    sheet.append(["行号", "列", "问题"])
    for cell in sheet[5]:
        cell.font = BOLD
    for item in batch.error_report:
        sheet.append([item["row"], item["column"], item["message"]])
    if batch.error_count > len(batch.error_report):
        sheet.append(["", "", f"另有 {batch.error_count - len(batch.error_report)} 条问题未列出，请先修改以上问题。"])
    sheet.column_dimensions["A"].width = 10
    sheet.column_dimensions["B"].width = 16
    sheet.column_dimensions["C"].width = 70
    return _save(workbook)
