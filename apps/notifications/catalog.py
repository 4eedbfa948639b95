"""The notification templates: what each kind of message says, in Chinese.

A template is registered in code under a ``code`` and rendered with Django's template engine from
a context dict. Title and body go to the inbox and to e-mail; ``sms`` is the SMS text for the
console and file backends; ``sms_params`` are the variables a provider with server-side templates
(Aliyun) receives, each rendered from the same context. Plain text throughout: nothing is
HTML-escaped here, the inbox page escapes on display.

SMS texts carry no client names or case details — a phone screen is not a private place; they
say what kind of thing is due and when, and send the reader to the platform by ``{{ link }}``: the
full address (``settings.SITE_URL`` + the notification's path) that every render receives.

Another module adds its own template in its ``AppConfig.ready()``::

    from apps.notifications.catalog import NotificationTemplate, register_template

    register_template(NotificationTemplate(code="complaint_due", name="投诉办理期限", ...))
"""

from dataclasses import dataclass, field
from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.template import engines

from apps.core.links import absolute_url

from .choices import Category


@dataclass(frozen=True)
class NotificationTemplate:
    """The words of one kind of notification (Django template syntax, plain text)."""

    code: str
    name: str
    category: str
    title: str
    body: str
    sms: str
    sms_params: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rendered:
    """A template rendered for one context."""

    template: NotificationTemplate
    title: str
    body: str
    sms: str
    sms_params: dict[str, str]


_REGISTRY: dict[str, NotificationTemplate] = {}


def register_template(template: NotificationTemplate) -> NotificationTemplate:
    """Add ``template`` to the registry; registering the same code with other words is an error."""
    existing = _REGISTRY.get(template.code)
    if existing is not None and existing != template:
        raise ImproperlyConfigured(f"Notification template {template.code!r} is already registered")
    if template.category not in Category.values:
        raise ImproperlyConfigured(f"Notification template {template.code!r}: unknown category {template.category!r}")
    _REGISTRY[template.code] = template
    return template


def get_template(code: str) -> NotificationTemplate:
    """Return the template registered under ``code``; a clear error for an unknown code."""
    try:
        return _REGISTRY[code]
    except (KeyError, TypeError):
        known = "、".join(sorted(_REGISTRY))
        raise ValidationError(f"未知的通知模板代码“{code}”。可用的模板：{known}。", code="unknown_template") from None


def all_templates() -> list[NotificationTemplate]:
    return [_REGISTRY[code] for code in sorted(_REGISTRY)]


@lru_cache(maxsize=256)
def _compile(source: str):
    return engines["django"].from_string("{% autoescape off %}" + source + "{% endautoescape %}")


def _render(source: str, context: dict) -> str:
    return _compile(source).render(context).strip()


def render(code: str, context: dict | None, url: str = "") -> Rendered:
    """Render template ``code`` with ``context``; refuse an unknown code or missing variables.

    ``link`` is the full address of ``url`` (a path on this site; the home page when empty).
    """
    template = get_template(code)
    context = {"link": absolute_url(url or "/"), **(context or {})}
    missing = [name for name in template.required if context.get(name) in (None, "")]
    if missing:
        raise ValidationError(f"通知模板“{template.name}”缺少必要内容：{'、'.join(missing)}。", code="missing_context")
    return Rendered(
        template=template,
        title=_render(template.title, context),
        body=_render(template.body, context),
        sms=_render(template.sms, context),
        sms_params={name: _render(source, context) for name, source in template.sms_params.items()},
    )


APPOINTMENT_REMINDER = register_template(
    NotificationTemplate(
        code="appointment_reminder",
        name="预约提醒",
        category=Category.REMINDER,
        title="预约提醒：{{ start|date:'n月j日 H:i' }}",
        body=(
            "您有一个预约将于 {{ start|date:'Y年n月j日 H:i' }} 开始"
            "{% if place %}，地点：{{ place }}{% endif %}。请提前做好接待准备。"
        ),
        sms="您有一个预约将于{{ start|date:'n月j日H:i' }}开始，详情：{{ link }}",
        sms_params={"time": "{{ start|date:'n月j日H:i' }}", "link": "{{ link }}"},
        required=("start",),
    )
)

HOME_VISIT_DUE = register_template(
    NotificationTemplate(
        code="home_visit_due",
        name="上门关怀到期",
        category=Category.TASK,
        title="上门关怀将于 {{ due_date|date:'n月j日' }} 到期",
        body=(
            "有{% if count and count > 1 %} {{ count }} 项{% else %}一项{% endif %}上门关怀应于 "
            "{{ due_date|date:'Y年n月j日' }} 前完成，请安排至少两名工作人员上门，并及时填写记录。"
        ),
        sms="您有上门关怀任务将于{{ due_date|date:'n月j日' }}到期，请登录心援平台查看：{{ link }}",
        sms_params={"date": "{{ due_date|date:'n月j日' }}", "link": "{{ link }}"},
        required=("due_date",),
    )
)

INQUIRY_REPLY_OVERDUE = register_template(
    NotificationTemplate(
        code="inquiry_reply_overdue",
        name="远程咨询回复逾期",
        category=Category.ALERT,
        title="远程咨询回复已逾期",
        body=(
            "一条远程咨询{% if received_at %}（{{ received_at|date:'n月j日 H:i' }} 收到）{% endif %}"
            "应于 {{ due_date|date:'Y年n月j日' }} 前回复，现已逾期，请尽快处理。"
        ),
        sms="您有一条远程咨询已超过回复期限（{{ due_date|date:'n月j日' }}），请尽快登录心援平台处理：{{ link }}",
        sms_params={"date": "{{ due_date|date:'n月j日' }}", "link": "{{ link }}"},
        required=("due_date",),
    )
)

WARNING_FEEDBACK_DUE = register_template(
    NotificationTemplate(
        code="warning_feedback_due",
        name="预警反馈期限",
        category=Category.ALERT,
        title="{{ colour }}预警反馈将于 {{ due_date|date:'n月j日' }} 到期",
        body=(
            "一条{{ colour }}预警的反馈期限为 {{ due_date|date:'Y年n月j日' }}，"
            "请在期限内完成跟进并提交反馈；逾期将按规定上报。"
        ),
        sms="您负责的一条预警反馈将于{{ due_date|date:'n月j日' }}到期，请登录心援平台处理：{{ link }}",
        sms_params={"date": "{{ due_date|date:'n月j日' }}", "link": "{{ link }}"},
        required=("colour", "due_date"),
    )
)

GENERIC = register_template(
    NotificationTemplate(
        code="generic",
        name="通用通知",
        category=Category.SYSTEM,
        title="{{ title }}",
        body="{{ body }}",
        sms="{{ title }}。请登录心援平台查看：{{ link }}",
        sms_params={"title": "{{ title }}", "link": "{{ link }}"},
        required=("title",),
    )
)
