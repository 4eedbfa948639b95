"""The scale engine: check a scale definition (data, not code) and score answers with it.

A definition is a dict (JSON) in the format of docs/assessments.md. ``check_definition`` returns
it normalised (every item carries its own options, decimals as strings) or raises one
``ValidationError`` listing every problem in Chinese. ``score_answers`` turns answers into raw
score, transformed score, factor means, band and critical items; it never touches the database.

Bands are checked against every score the scale can produce (the reachable raw sums are
enumerated, at most a few hundred values), so a gap or an overlap in cut-offs is refused before
any result could fall into it.
"""

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from .choices import BandLevel

FORMAT_VERSION = 1
MAX_ITEMS = 200
MAX_OPTIONS = 12
ROUNDINGS = {"floor": "向下取整", "half_up": "四舍五入取整", "none": "保留两位小数"}
METHODS = {"sum": "各条目得分相加", "mean": "各条目得分的平均数"}
CENT = Decimal("0.01")
MAX_SCORE = Decimal("999999.99")


@dataclass(frozen=True)
class Scored:
    """What scoring one set of answers produced."""

    answers: dict[str, int]
    raw_score: Decimal
    score: Decimal
    factor_scores: dict[str, str]
    band: dict
    critical_items: list[int] = field(default_factory=list)

    @property
    def critical(self) -> bool:
        return bool(self.critical_items)


class _Errors:
    def __init__(self):
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def raise_if_any(self, code: str) -> None:
        if self.messages:
            raise ValidationError([ValidationError(m, code=code) for m in self.messages])


def _text(value, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and len(value) <= limit else None


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _options(raw, where: str, errors: _Errors) -> list[dict] | None:
    if not isinstance(raw, list) or not raw:
        errors.add(f"{where}缺少选项列表（options）。")
        return None
    if len(raw) > MAX_OPTIONS:
        errors.add(f"{where}选项超过 {MAX_OPTIONS} 个。")
        return None
    options, seen = [], set()
    for index, option in enumerate(raw, start=1):
        if not isinstance(option, dict):
            errors.add(f"{where}第 {index} 个选项格式不对，应为包含 label 和 score 的对象。")
            continue
        label = _text(option.get("label"), 50)
        score = _int(option.get("score"))
        if label is None:
            errors.add(f"{where}第 {index} 个选项缺少文字（label，不超过 50 字）。")
        if score is None or not 0 <= score <= 100:
            errors.add(f"{where}第 {index} 个选项的分值（score）必须是 0–100 的整数。")
            continue
        if score in seen:
            errors.add(f"{where}有两个选项的分值都是 {score}，分值必须互不相同。")
        seen.add(score)
        options.append({"label": label or "", "score": score})
    return options


def _bands(raw, errors: _Errors, where: str = "") -> list[dict]:
    if not isinstance(raw, list) or not raw:
        errors.add(f"{where}缺少结果分段（bands）。")
        return []
    bands, codes = [], set()
    for index, band in enumerate(raw, start=1):
        if not isinstance(band, dict):
            errors.add(f"{where}第 {index} 个分段格式不对。")
            continue
        code = _text(band.get("code"), 30)
        label = _text(band.get("label"), 50)
        low, high = _decimal(band.get("min")), _decimal(band.get("max"))
        level = band.get("level")
        if code is None:
            errors.add(f"{where}第 {index} 个分段缺少编码（code，不超过 30 字符）。")
        elif code in codes:
            errors.add(f"{where}分段编码“{code}”重复。")
        codes.add(code)
        if label is None:
            errors.add(f"{where}第 {index} 个分段缺少名称（label，不超过 50 字）。")
        if low is None or high is None:
            errors.add(f"{where}第 {index} 个分段的最低分（min）和最高分（max）必须是数字。")
            continue
        if low > high:
            errors.add(f"{where}第 {index} 个分段的最低分 {low} 大于最高分 {high}。")
        if level not in BandLevel.values:
            allowed = "、".join(BandLevel.values)
            errors.add(f"{where}第 {index} 个分段的严重程度（level）必须是 {allowed} 之一。")
        bands.append({"code": code or "", "label": label or "", "min": str(low), "max": str(high), "level": level})
    bands.sort(key=lambda b: Decimal(b["min"]))
    for lower, upper in zip(bands, bands[1:], strict=False):
        if Decimal(upper["min"]) <= Decimal(lower["max"]):
            errors.add(f"{where}分段“{lower['label']}”与“{upper['label']}”的分数范围重叠。")
    return bands


def check_definition(data) -> dict:
    """Validate a scale definition; return it normalised or raise a Chinese ``ValidationError`` listing all."""
    errors = _Errors()
    if not isinstance(data, dict):
        raise ValidationError("量表定义必须是一个 JSON 对象。", code="invalid_definition")
    fmt = data.get("format", FORMAT_VERSION)
    if _int(fmt) != FORMAT_VERSION:
        errors.add(f"不支持的定义格式版本 {fmt}，当前为 {FORMAT_VERSION}。")
    code = _text(data.get("code"), 30)
    if code is None or any(ch.isspace() for ch in code):
        errors.add("量表编码（code）必填，不超过 30 个字符且不含空格，例如 SDS。")
    name = _text(data.get("name"), 100)
    if name is None:
        errors.add("量表名称（name）必填，不超过 100 字。")
    instructions = data.get("instructions", "")
    if not isinstance(instructions, str) or len(instructions) > 2000:
        errors.add("指导语（instructions）必须是不超过 2000 字的文字。")
        instructions = ""
    licence = data.get("licence")
    holder = _text(licence.get("holder"), 200) if isinstance(licence, dict) else None
    terms = licence.get("terms", "") if isinstance(licence, dict) else ""
    if holder is None:
        errors.add("必须填写版权/授权持有方（licence.holder），说明量表由谁授权使用。")
    if not isinstance(terms, str) or len(terms) > 2000:
        errors.add("授权说明（licence.terms）必须是不超过 2000 字的文字。")
        terms = ""

    default_options = None
    if data.get("options") is not None:
        default_options = _options(data.get("options"), "公共选项", errors)

    raw_items = data.get("items")
    items: list[dict] = []
    if not isinstance(raw_items, list) or not raw_items:
        errors.add("缺少条目列表（items）。")
        raw_items = []
    elif len(raw_items) > MAX_ITEMS:
        errors.add(f"条目超过 {MAX_ITEMS} 个。")
        raw_items = []
    numbers = set()
    for index, item in enumerate(raw_items, start=1):
        if not isinstance(item, dict):
            errors.add(f"第 {index} 个条目格式不对。")
            continue
        number = _int(item.get("number", index))
        where = f"第 {number if number is not None else index} 题"
        if number is None or number < 1:
            errors.add(f"第 {index} 个条目的题号（number）必须是正整数。")
            continue
        if number in numbers:
            errors.add(f"题号 {number} 重复。")
        numbers.add(number)
        text = _text(item.get("text"), 500)
        if text is None:
            errors.add(f"{where}缺少题目文字（text，不超过 500 字）。")
        reverse = item.get("reverse", False)
        if not isinstance(reverse, bool):
            errors.add(f"{where}的反向计分（reverse）必须是 true 或 false。")
            reverse = False
        if item.get("options") is not None:
            options = _options(item.get("options"), f"{where}", errors)
        elif default_options is not None:
            options = [dict(o) for o in default_options]
        else:
            errors.add(f"{where}没有选项：请给出公共选项（options）或本题选项。")
            options = None
        if options is None:
            continue
        items.append({"number": number, "text": text or "", "reverse": reverse, "options": options})
    items.sort(key=lambda i: i["number"])

    scoring = data.get("scoring") or {}
    if not isinstance(scoring, dict):
        errors.add("计分规则（scoring）格式不对。")
        scoring = {}
    method = scoring.get("method", "sum")
    if method not in METHODS:
        errors.add("计分方式（scoring.method）只能是 sum（求和）或 mean（平均）。")
        method = "sum"
    multiply = _decimal(scoring.get("multiply", 1))
    if multiply is None or not Decimal("0") < multiply <= Decimal("100"):
        errors.add("换算系数（scoring.multiply）必须是大于 0、不超过 100 的数，例如 SDS 为 1.25。")
        multiply = Decimal(1)
    rounding = scoring.get("rounding", "none")
    if rounding not in ROUNDINGS:
        errors.add("取整方式（scoring.rounding）只能是 floor（向下取整）、half_up（四舍五入）或 none（不取整）。")
        rounding = "none"
    score_name = _text(scoring.get("score_name", "总分"), 20) or "总分"
    factors = []
    raw_factors = scoring.get("factors") or []
    if not isinstance(raw_factors, list):
        errors.add("因子（scoring.factors）必须是列表。")
        raw_factors = []
    factor_codes = set()
    for index, factor in enumerate(raw_factors, start=1):
        fcode = _text(factor.get("code"), 30) if isinstance(factor, dict) else None
        fname = _text(factor.get("name"), 50) if isinstance(factor, dict) else None
        fitems = factor.get("items") if isinstance(factor, dict) else None
        if fcode is None or fname is None or not isinstance(fitems, list) or not fitems:
            errors.add(f"第 {index} 个因子须有编码（code）、名称（name）和条目题号列表（items）。")
            continue
        if fcode in factor_codes:
            errors.add(f"因子编码“{fcode}”重复。")
        factor_codes.add(fcode)
        fnumbers = [_int(n) for n in fitems]
        unknown = [str(n) for n, parsed in zip(fitems, fnumbers, strict=True) if parsed not in numbers]
        if unknown:
            errors.add(f"因子“{fname}”引用了不存在的题号：{'、'.join(unknown)}。")
            continue
        factors.append({"code": fcode, "name": fname, "items": sorted(set(fnumbers))})

    critical = []
    raw_critical = data.get("critical_items") or []
    if not isinstance(raw_critical, list):
        errors.add("危急条目（critical_items）必须是列表。")
        raw_critical = []
    for index, rule in enumerate(raw_critical, start=1):
        number = _int(rule.get("item")) if isinstance(rule, dict) else None
        min_score = _int(rule.get("min_score")) if isinstance(rule, dict) else None
        label = _text(rule.get("label", ""), 100) if isinstance(rule, dict) else None
        if number not in numbers or min_score is None:
            errors.add(f"第 {index} 个危急条目须给出存在的题号（item）和触发的最低分（min_score）。")
            continue
        critical.append({"item": number, "min_score": min_score, "label": label or f"第 {number} 题"})

    bands = _bands(data.get("bands"), errors)
    errors.raise_if_any("invalid_definition")

    definition = {
        "format": FORMAT_VERSION,
        "code": code,
        "name": name,
        "instructions": instructions.strip(),
        "licence": {"holder": holder, "terms": terms.strip()},
        "items": items,
        "scoring": {
            "method": method,
            "multiply": str(multiply),
            "rounding": rounding,
            "score_name": score_name,
            "factors": factors,
        },
        "bands": bands,
        "critical_items": critical,
    }
    check_bands_cover(definition, bands)
    return definition


def _item_value(item: dict, chosen: int) -> int:
    """The scored value of ``chosen`` for ``item``: mirrored within the item's score range when reversed."""
    if not item["reverse"]:
        return chosen
    scores = [o["score"] for o in item["options"]]
    return min(scores) + max(scores) - chosen


def _transform(definition: dict, total: int) -> tuple[Decimal, Decimal]:
    scoring = definition["scoring"]
    raw = Decimal(total)
    if scoring["method"] == "mean":
        raw = (raw / len(definition["items"])).quantize(CENT, ROUND_HALF_UP)
    value = raw * Decimal(scoring["multiply"])
    if scoring["rounding"] == "floor":
        value = value.to_integral_value(ROUND_FLOOR)
    elif scoring["rounding"] == "half_up":
        value = value.to_integral_value(ROUND_HALF_UP)
    return raw, value.quantize(CENT, ROUND_HALF_UP)


def reachable_scores(definition: dict) -> list[Decimal]:
    """Every final score the scale can produce, ascending."""
    sums = {0}
    for item in definition["items"]:
        values = {_item_value(item, o["score"]) for o in item["options"]}
        sums = {s + v for s in sums for v in values}
    return sorted({_transform(definition, total)[1] for total in sums})


def band_for(bands: list[dict], score: Decimal) -> dict | None:
    for band in bands:
        if Decimal(band["min"]) <= score <= Decimal(band["max"]):
            return band
    return None


def check_bands_cover(definition: dict, bands: list[dict], where: str = "") -> None:
    """Refuse bands that leave a reachable score of ``definition`` without a band."""
    missing = [s for s in reachable_scores(definition) if band_for(bands, s) is None]
    if missing:
        shown = "、".join(_fmt(s) for s in missing[:8]) + ("等" if len(missing) > 8 else "")
        raise ValidationError(
            f"{where}以下可能得分不在任何分段内：{shown}。请让分段首尾相接并覆盖全部得分范围。", code="bands_gap"
        )
    if reachable_scores(definition)[-1] > MAX_SCORE:
        raise ValidationError("可能得分超出系统可保存的范围。", code="score_too_large")


def check_bands(definition: dict, raw_bands, where: str = "") -> list[dict]:
    """Validate replacement bands (a unit's cut-offs) against ``definition``; return them normalised."""
    errors = _Errors()
    bands = _bands(raw_bands, errors, where)
    errors.raise_if_any("invalid_bands")
    check_bands_cover(definition, bands, where)
    return bands


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")


def check_answers(definition: dict, answers) -> dict[str, int]:
    """Answers as ``{"1": score, …}`` for every item (a list is read in item order); errors list all."""
    items = definition["items"]
    if isinstance(answers, list | tuple):
        if len(answers) != len(items):
            raise ValidationError(
                f"作答数量不对：本量表共 {len(items)} 题，收到 {len(answers)} 个答案。", code="invalid_answers"
            )
        answers = {str(item["number"]): value for item, value in zip(items, answers, strict=True)}
    if not isinstance(answers, dict):
        raise ValidationError(
            "作答格式不对：应为“题号: 分值”的对应关系或按题目顺序的分值列表。", code="invalid_answers"
        )
    errors = _Errors()
    known = {str(item["number"]) for item in items}
    extra = sorted((str(k) for k in answers if str(k) not in known), key=lambda k: (len(k), k))
    if extra:
        errors.add(f"本量表没有这些题号：{'、'.join(extra)}。")
    given = {str(k): v for k, v in answers.items()}
    clean = {}
    for item in items:
        key = str(item["number"])
        value = given.get(key)
        if value is None or value == "":
            errors.add(f"第 {item['number']} 题未作答。")
            continue
        chosen = _int(value)
        allowed = [o["score"] for o in item["options"]]
        if chosen not in allowed:
            choices = "、".join(str(s) for s in allowed)
            errors.add(f"第 {item['number']} 题的答案“{value}”不是有效选项（可选分值：{choices}）。")
            continue
        clean[key] = chosen
    errors.raise_if_any("invalid_answers")
    return clean


def check_partial_answers(definition: dict, answers) -> dict[str, int]:
    """Like ``check_answers`` but items may be missing (progress saved between visits)."""
    if not isinstance(answers, dict):
        raise ValidationError("作答格式不对。", code="invalid_answers")
    by_number = {str(item["number"]): item for item in definition["items"]}
    clean = {}
    for key, value in answers.items():
        item = by_number.get(str(key))
        if item is None or value in (None, ""):
            continue
        chosen = _int(value)
        if chosen not in [o["score"] for o in item["options"]]:
            raise ValidationError(f"第 {key} 题的答案不是有效选项。", code="invalid_answers")
        clean[str(key)] = chosen
    return clean


def score_answers(definition: dict, answers, bands: list[dict] | None = None) -> Scored:
    """Score ``answers`` with ``definition`` and ``bands`` (the definition's own unless given)."""
    clean = check_answers(definition, answers)
    by_number = {item["number"]: item for item in definition["items"]}
    values = {number: _item_value(item, clean[str(number)]) for number, item in by_number.items()}
    raw, score = _transform(definition, sum(values.values()))
    factor_scores = {}
    for factor in definition["scoring"]["factors"]:
        mean = Decimal(sum(values[n] for n in factor["items"])) / len(factor["items"])
        factor_scores[factor["code"]] = str(mean.quantize(CENT, ROUND_HALF_UP))
    band = band_for(bands if bands is not None else definition["bands"], score)
    if band is None:  # bands are checked against every reachable score; this means a corrupted row
        raise ValidationError(f"得分 {_fmt(score)} 不在任何分段内，请联系管理员检查划界分设置。", code="bands_gap")
    critical = sorted(
        {rule["item"] for rule in definition["critical_items"] if values[rule["item"]] >= rule["min_score"]}
    )
    return Scored(clean, raw, score, factor_scores, band, critical)
