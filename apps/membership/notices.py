"""What an applicant without an account is told about their application (H-MEM-1, H-MEM-2, X-7).

The applicant has only the mobile number and, optionally, the e-mail address written on the
registration form; ``notify_applicant`` sends to those through
``apps.notifications.services.notify_contact`` (mobile → SMS, e-mail → e-mail), in the caller's
transaction, so a rolled-back change tells nobody anything.

One notification template serves the four moments (submitted, returned, rejected, admitted): the
SMS is minimal — application number, outcome and where the status page is, never a name or an ID
number; the e-mail also carries the reason and what to do next. The template is registered when
this module is imported (``MembershipConfig.ready`` imports it).
"""

from django.urls import reverse

from apps.core.links import absolute_url
from apps.notifications.catalog import NotificationTemplate, register_template
from apps.notifications.choices import Category

SUBMITTED, RETURNED, REJECTED, ADMITTED = "submitted", "returned", "rejected", "admitted"

OUTCOMES = {
    SUBMITTED: "已收到",
    RETURNED: "被退回，需修改后重新提交",
    REJECTED: "未获通过",
    ADMITTED: "已获批准",
}

APPLICATION_UPDATE = register_template(
    NotificationTemplate(
        code="membership_application",
        name="入会申请进度（发给申请人）",
        category=Category.APPROVAL,
        title="入会申请 {{ reference }} {{ outcome }}",
        body=(
            "{% if event == 'submitted' %}"
            "您向{{ association }}提交的入会申请已收到，申请编号 {{ reference }}。"
            "会员工作部初审后会再通知您。查询进度：打开 {{ status_link }}，输入申请编号和提交时页面显示的查询码"
            "（查询码只显示一次，请妥善保存）。"
            "{% elif event == 'returned' %}"
            "您向{{ association }}提交的入会申请 {{ reference }} 经会员工作部初审被退回，需要修改。"
            "退回理由：{{ reason }}\n"
            "请按退回理由补正材料后，打开 {{ apply_link }} 重新填写并提交入会申请（将得到新的申请编号和查询码）；"
            "原申请的记录仍可在 {{ status_link }} 凭申请编号和查询码查看。"
            "{% elif event == 'rejected' %}"
            "很遗憾，您向{{ association }}提交的入会申请 {{ reference }} 未获通过。"
            "{% if reason %}理由：{{ reason }}\n{% endif %}"
            "详情可在 {{ status_link }} 凭申请编号和查询码查看。如有疑问，请联系协会会员工作部。"
            "{% else %}"
            "您向{{ association }}提交的入会申请 {{ reference }} 已获批准，"
            "您已成为本会会员{% if member_number %}，会员编号 {{ member_number }}{% endif %}。\n"
            "设置首次登录密码：打开 {{ status_link }}，输入申请编号和查询码，在页面上设置登录密码；"
            "页面会显示您的登录名，之后即可登录会员自助服务查看会员证和会费。"
            "{% endif %}"
        ),
        sms="您的入会申请{{ reference }}{{ outcome }}。请凭申请编号和查询码在{{ status_link }}查看。",
        sms_params={"reference": "{{ reference }}", "outcome": "{{ outcome }}", "link": "{{ status_link }}"},
        required=("reference", "event", "outcome", "status_link"),
    )
)


def _link(path: str) -> str:
    """A path on this site as a full address (the applicant has no bookmark)."""
    return absolute_url(path)


def topic_of(application) -> str:
    """The notifications' key for one application (``Notification.topic``)."""
    return f"membership.application:{application.pk}"


def notify_applicant(application, event: str, *, reason: str = "", member_number: str = ""):
    """Tell the applicant of ``application`` about ``event`` at the mobile number and e-mail they gave."""
    from apps.notifications.services import notify_contact

    status_path = reverse("membership:status")
    return notify_contact(
        template=APPLICATION_UPDATE.code,
        context={
            "event": event,
            "outcome": OUTCOMES[event],
            "reference": application.reference,
            "association": application.association.name,
            "reason": (reason or "").strip(),
            "member_number": member_number,
            "status_link": _link(status_path),
            "apply_link": _link(reverse("membership:apply", kwargs={"association_id": application.association_id})),
        },
        phone=application.phone,
        email=application.email,
        url=status_path,
        topic=topic_of(application),
    )
