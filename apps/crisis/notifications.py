"""The notification a crisis handler receives when a record's free text holds a crisis expression.

It names the record and the matched expression, never the client's words; it goes to the in-app
inbox only (nothing leaves the platform by SMS or e-mail).
"""

from apps.notifications.catalog import NotificationTemplate, register_template
from apps.notifications.choices import Category

CRISIS_EXPRESSION = register_template(
    NotificationTemplate(
        code="crisis_expression",
        name="危机表述提示",
        category=Category.ALERT,
        title="危机表述提示：{{ record }}",
        body=(
            "{{ unit }}的{{ record }}中出现危机表述“{{ phrases }}”，请立即查看并按应急预案处置；"
            "如需标记重点人员，可在记录页面一键进入预警标记。"
        ),
        sms="有一条记录出现危机表述，请立即登录心援平台查看：{{ link }}",
        sms_params={"link": "{{ link }}"},
        required=("record", "unit", "phrases"),
    )
)
