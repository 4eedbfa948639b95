"""Rules of crisis expressions (S-FLOW-3, S-WARN-2): the editable list, the per-unit crisis handler and
the flag raised at once when a remote inquiry or a reception holds a crisis expression.

Matching compares plain phrases after normalisation (full-width to half-width, case folded, spaces,
punctuation and symbols dropped), so "不 想 活" and "不想活！" match "不想活"; no user-written
pattern is ever compiled. A flag notifies the unit's designated crisis handler (inherited from the
nearest ancestor that designated one) or, when none is designated, the unit's managers — only
people whose assignment covers the record's unit, in the inbox only: nothing leaves the unit.
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.audit.services import log_change, log_read, snapshot
from apps.core.access import can, can_in_unit
from apps.core.perms import Perm

from .models import CrisisExpression, CrisisFlag, CrisisHandler

MIN_PHRASE = 2
MAX_PHRASE = 30
# Unicode categories dropped before comparing: separators (Z), punctuation (P), symbols (S), controls (C).
DROPPED_CATEGORIES = ("Z", "P", "S", "C")


def normalize(text) -> str:
    """``text`` as compared: NFKC (full-width → half-width), case folded, without spaces, punctuation or symbols."""
    folded = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in DROPPED_CATEGORIES)


def unit_prefixes(unit) -> list[str]:
    """The paths of ``unit`` and its ancestors, root first."""
    parts = [p for p in unit.path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def applicable_expressions(unit):
    """Active expressions that apply to records of ``unit``: the shipped ones and those of the unit or an ancestor."""
    return CrisisExpression.objects.filter(is_active=True).filter(
        Q(unit__isnull=True) | Q(unit_path__in=unit_prefixes(unit))
    )


def find_expressions(unit, texts: dict[str, str]) -> tuple[list[CrisisExpression], list[str]]:
    """(matched expressions, labels of the fields they occur in) for the free ``texts`` {label: text}."""
    normalized = {label: normalize(text) for label, text in texts.items() if text}
    matched, fields = {}, []
    for expression in applicable_expressions(unit).order_by("id"):
        for label, text in normalized.items():
            if expression.normalized and expression.normalized in text:
                matched.setdefault(expression.normalized, expression)
                if label not in fields:
                    fields.append(label)
    return list(matched.values()), fields


# --- who is told: the designated handler, else the unit's managers ------------------------------------


def covering_users(unit, perm: str, *, within: str = ""):
    """Active users whose assignment at ``unit`` or an ancestor carries ``perm`` (optionally inside path ``within``)."""
    from apps.accounts.models import Assignment

    prefixes = [p for p in unit_prefixes(unit) if p.startswith(within)]
    rows = Assignment.objects.filter(
        unit__path__in=prefixes, user__is_active=True, unit__is_active=True
    ).select_related("user", "role")
    people = {a.user_id: a.user for a in rows if perm in a.role.permissions}
    return sorted(people.values(), key=lambda u: (u.full_name, u.pk))


def designated_handler(unit) -> CrisisHandler | None:
    """The designation of ``unit`` or of its nearest ancestor that has one."""
    rows = CrisisHandler.objects.filter(unit_path__in=unit_prefixes(unit)).select_related("handler", "unit")
    return max(rows, key=lambda row: len(row.unit_path), default=None)


def crisis_recipients(unit) -> tuple[list, bool]:
    """(people to notify, whether they are the designated handler) for a flag in ``unit``.

    The designated handler counts only while their account is active and still holds client access
    over the unit; otherwise — and when nobody is designated — the unit's managers (``user.manage``
    at the unit, or at the nearest ancestor that has any) are told instead.
    """
    from apps.accounts.selectors import nearest_unit_managers

    designation = designated_handler(unit)
    if designation is not None:
        eligible = {u.pk for u in covering_users(unit, Perm.CLIENT_VIEW)}
        if designation.handler_id in eligible:
            return [designation.handler], True
    return nearest_unit_managers(unit), False


# --- flags ------------------------------------------------------------------------------------------


def _record_link(flag: CrisisFlag) -> tuple[str, str]:
    if flag.inquiry_id:
        return f"远程咨询 #{flag.inquiry_id}", reverse("outreach:inquiry-detail", args=[flag.inquiry_id])
    return f"咨询接待 #{flag.reception_id}", reverse("casework:reception-detail", args=[flag.reception_id])


def notify_crisis_handlers(flag: CrisisFlag, people) -> None:
    """Tell ``people`` in their inbox (no SMS, no e-mail) which record holds which expression."""
    from apps.notifications.services import notify_user

    label, url = _record_link(flag)
    context = {"record": label, "unit": flag.unit.name, "phrases": "”“".join(flag.phrases)}
    for person in people:
        notify_user(user=person, template="crisis_expression", context=context, url=url)


@transaction.atomic
def do_flag_crisis(*, actor, unit, texts: dict[str, str], inquiry=None, reception=None, client=None):
    """Flag a just-recorded inquiry or reception whose free ``texts`` ({label: text}) hold a crisis
    expression, audit the flag and notify the unit's crisis handler; return the flag or None."""
    if (inquiry is None) == (reception is None):
        raise ValueError("flag exactly one record")
    expressions, fields = find_expressions(unit, texts)
    if not expressions:
        return None
    people, designated = crisis_recipients(unit)
    flag = CrisisFlag.objects.create(
        unit=unit,
        unit_path=unit.path,
        inquiry=inquiry,
        reception=reception,
        client=client,
        phrases=[e.phrase for e in expressions],
        fields=fields,
        notified_designated=designated,
        raised_by=actor,
    )
    flag.expressions.set(expressions)
    flag.notified.set(people)
    after = {**snapshot(flag), "notified": sorted(u.pk for u in people)}
    who = "指定的危机处置负责人" if designated else "单位负责人（未指定危机处置负责人）"
    log_change(actor, flag, {}, after, purpose=f"危机表述提示：{_record_link(flag)[0]}，已通知{who}")
    notify_crisis_handlers(flag, people)
    return flag


def record_flags_seen(*, actor, flags, request=None) -> None:
    """Audit that ``actor`` was shown the crisis banner of each of ``flags``."""
    for flag in flags:
        log_read(actor, flag, purpose=f"查看危机表述提示：{_record_link(flag)[0]}", request=request)


# --- the expression list ----------------------------------------------------------------------------


def check_phrase(value) -> tuple[str, str]:
    """(phrase as written, normalised phrase); refuses empty, one-character and over-long phrases."""
    phrase = " ".join(str(value or "").split())
    key = normalize(phrase)
    if not key:
        raise ValidationError({"phrase": "请填写危机表述（汉字或字母，标点和空格会被忽略）。"})
    if len(key) < MIN_PHRASE:
        raise ValidationError({"phrase": f"危机表述至少 {MIN_PHRASE} 个字，单个字会误报太多。"})
    if len(phrase) > MAX_PHRASE:
        raise ValidationError({"phrase": f"危机表述不能超过 {MAX_PHRASE} 个字。"})
    return phrase, key


@transaction.atomic
def do_add_expression(*, actor, unit, phrase: str) -> CrisisExpression:
    """Add a crisis expression that applies to ``unit`` and its descendants."""
    if not (unit.is_active and can_in_unit(actor, Perm.ALERT_CONFIGURE, unit)):
        raise ValidationError({"unit": "您只能为本单位及下级单位维护危机表述。"})
    phrase, key = check_phrase(phrase)
    if applicable_expressions(unit).filter(normalized=key).exists():
        raise ValidationError({"phrase": f"“{phrase}”已在适用于该单位的词表中。"})
    existing = CrisisExpression.objects.filter(unit_path=unit.path, normalized=key).first()
    if existing is not None:  # switched off earlier: switch it on again
        return do_set_expression_active(actor=actor, expression=existing, active=True)
    try:
        with transaction.atomic():
            row = CrisisExpression.objects.create(
                unit=unit, unit_path=unit.path, phrase=phrase, normalized=key, created_by=actor
            )
    except IntegrityError:
        raise ValidationError({"phrase": f"“{phrase}”已在词表中。"}) from None
    log_change(actor, row, {}, snapshot(row), purpose="新增危机表述")
    return row


@transaction.atomic
def do_set_expression_active(*, actor, expression: CrisisExpression, active: bool) -> CrisisExpression:
    """Switch a unit's own expression on or off; shipped expressions are not edited by a unit."""
    if expression.unit_id is None:
        raise ValidationError("系统内置的通用危机表述不能停用。", code="shipped")
    if not can(actor, Perm.ALERT_CONFIGURE, expression):
        raise ValidationError("您无权修改这条危机表述。", code="forbidden")
    if expression.is_active == active:
        return expression
    before = snapshot(expression)
    expression.is_active = active
    expression.save(update_fields=["is_active"])
    log_change(actor, expression, before, snapshot(expression), purpose="启用危机表述" if active else "停用危机表述")
    return expression


# --- the per-unit crisis handler --------------------------------------------------------------------


def handler_candidates(actor, unit):
    """Who may be designated for ``unit``: active users holding client access over it, visible to ``actor``."""
    from apps.core.access import active_grant

    grant = active_grant(actor)
    if grant is None:
        return []
    return covering_users(unit, Perm.CLIENT_VIEW, within=grant.unit_path)


@transaction.atomic
def do_designate_handler(*, actor, unit, handler) -> CrisisHandler | None:
    """Designate ``unit``'s crisis handler, or clear the designation with ``handler=None``."""
    if not (unit.is_active and can_in_unit(actor, Perm.USER_MANAGE, unit)):
        raise ValidationError({"handler": "您只能为本单位及下级单位指定危机处置负责人。"})
    current = CrisisHandler.objects.filter(unit=unit).first()
    if handler is None:
        if current is not None:
            log_change(actor, current, snapshot(current), {}, purpose="取消指定危机处置负责人")
            current.delete()
        return None
    if handler.pk not in {u.pk for u in handler_candidates(actor, unit)}:
        raise ValidationError({"handler": "危机处置负责人须是本单位（或上级单位）在岗、可查看来访者信息的工作人员。"})
    if current is None:
        current = CrisisHandler.objects.create(
            unit=unit, unit_path=unit.path, handler=handler, designated_by=actor, designated_at=timezone.now()
        )
        log_change(actor, current, {}, snapshot(current), purpose="指定危机处置负责人")
        return current
    before = snapshot(current)
    current.handler, current.designated_by, current.designated_at = handler, actor, timezone.now()
    current.save()
    log_change(actor, current, before, snapshot(current), purpose="更换危机处置负责人")
    return current
