"""What a dispatched responder is told (H-SVC-3), through apps.notifications.

The inbox row goes to the responder's account. An urgent dispatch also sends an SMS to the
``contact`` number on the crisis roster — the number the responder gave for being called out —
through ``notify_contact`` (stored encrypted, shown masked, sent by the configured SMS backend
after the dispatch commits). The SMS names the time and task only, never the place or the event.
"""

from apps.notifications.catalog import NotificationTemplate, register_template
from apps.notifications.choices import Category, Channel, DeliveryStatus

CRISIS_DISPATCH = NotificationTemplate(
    code="crisis_dispatch",
    name="应急援助调派",
    category=Category.TASK,
    title="应急援助调派通知：{{ start|date:'n月j日 H:i' }} {{ place }}",
    body=(
        "您被调派参加“{{ event }}”心理援助（{{ role }}），请于 {{ start|date:'Y年n月j日 H:i' }} 到{{ place }}报到，"
        "预计 {{ end|date:'n月j日 H:i' }} 结束。"
    ),
    # No place or event on a phone screen (docs/notifications.md): time and task, the rest on the platform.
    sms="您被紧急调派参加心理援助（{{ role }}），请于{{ start|date:'n月j日H:i' }}报到，地点和详情请登录心援平台查看。",
    sms_params={"time": "{{ start|date:'n月j日H:i' }}", "role": "{{ role }}"},
    required=("event", "start", "end", "place", "role"),
)


def register() -> None:
    register_template(CRISIS_DISPATCH)


def topic_of(dispatch) -> str:
    return f"assistance.dispatch:{dispatch.pk}"


def notify_dispatched(dispatch, event) -> None:
    """Tell the responder of ``dispatch``: inbox always, SMS to the roster number when urgent.

    Stores both notifications on the dispatch so the pages can show what really went out.
    """
    from apps.notifications.services import notify_contact, notify_user

    responder = dispatch.responder
    context = {
        "event": event.title, "start": dispatch.starts_at, "end": dispatch.ends_at, "place": event.place,
        "role": dispatch.get_role_display(),
    }  # fmt: skip
    fields = []
    if responder.user.is_active:
        dispatch.notification = notify_user(
            user=responder.user, template=CRISIS_DISPATCH.code, context=context, url="/assistance/my/"
        )
        fields.append("notification")
    if dispatch.urgent and responder.contact:
        dispatch.sms_notification = notify_contact(
            template=CRISIS_DISPATCH.code, context=context, phone=responder.contact, url="/assistance/my/",
            topic=topic_of(dispatch),
        )  # fmt: skip
        fields.append("sms_notification")
    if fields:
        dispatch.save(update_fields=fields)


# The state of one channel as the dispatch pages show it: (channel label, status, detail, tone).
NOT_SENT = "skipped"


def channel_states(dispatch) -> list[dict]:
    """Per channel (站内信, 短信): what really happened, read from the delivery records.

    A channel with no delivery record says so ("未发送") with the reason: not urgent, or no notification.
    """
    states = []
    inapp = _delivery(dispatch.notification, Channel.INAPP)
    states.append(_state("站内信", inapp, "未发送站内信（账号已停用）。"))
    if dispatch.urgent:
        sms = _delivery(dispatch.sms_notification, Channel.SMS)
        states.append(_state("短信", sms, "名册上没有可用的联系电话，未发送短信。"))
    else:
        states.append({"channel": "短信", "status": NOT_SENT, "label": "未发送", "detail": "非紧急调派，不发短信。"})
    return states


def _delivery(notification, channel):
    if notification is None:
        return None
    return next((d for d in notification.deliveries.all() if d.channel == channel), None)


def _state(channel_label: str, delivery, missing: str) -> dict:
    if delivery is None:
        return {"channel": channel_label, "status": NOT_SENT, "label": "未发送", "detail": missing}
    detail = delivery.error if delivery.status in (DeliveryStatus.SKIPPED, DeliveryStatus.FAILED) else delivery.address
    if delivery.channel == Channel.INAPP:
        detail = ""
    label = "已送达" if delivery.channel == Channel.INAPP and delivery.status == DeliveryStatus.SENT else None
    return {
        "channel": channel_label,
        "status": delivery.status,
        "label": label or delivery.get_status_display(),
        "detail": detail,
        "sent_at": delivery.sent_at,
    }


def summary(dispatches) -> str:
    """One sentence for the flash message after a dispatch, counting real delivery states per channel."""
    counts: dict[str, dict[str, int]] = {}
    for dispatch in dispatches:
        for state in channel_states(dispatch):
            per = counts.setdefault(state["channel"], {})
            per[state["label"]] = per.get(state["label"], 0) + 1
    parts = [
        f"{channel}：" + "，".join(f"{label} {n} 人" for label, n in per.items()) for channel, per in counts.items()
    ]
    return f"已调派 {len(dispatches)} 人。" + "；".join(parts) + "。各人通知情况见调派记录。"
