from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "apps.appointments"
    verbose_name = "预约"

    def ready(self):
        from apps.notifications.catalog import NotificationTemplate, register_template
        from apps.notifications.choices import Category
        from apps.notifications.reminders import register_reminder_provider

        from . import datasets  # noqa: F401 - registers the exportable lists (X-3)
        from .reminders import appointments_tomorrow

        register_reminder_provider("appointments.tomorrow", appointments_tomorrow)
        # The one-time code of the public booking form (issue 14 item 4); sent directly, never stored.
        register_template(
            NotificationTemplate(
                code="public_booking_code",
                name="网上预约验证码",
                category=Category.SYSTEM,
                title="网上预约验证码",
                body="您的网上预约验证码为 {{ code }}，{{ minutes }} 分钟内有效。",
                sms="您的心理服务网上预约验证码为{{ code }}，{{ minutes }}分钟内有效。如非本人操作，请忽略本短信。",
                sms_params={"code": "{{ code }}"},
                required=("code", "minutes"),
            )
        )
        # The public booking's confirmation (issue 13 item 10): reference, time, the unit's address and phone.
        register_template(
            NotificationTemplate(
                code="public_booking_received",
                name="网上预约已提交",
                category=Category.SYSTEM,
                title="网上预约已提交",
                body="预约号 {{ reference }}，{{ start }}，{{ unit }}。地址：{{ address|default:'请致电咨询' }}；"
                "电话：{{ phone|default:'—' }}。工作人员会尽快与您确认。",
                sms="您的心理服务预约已提交，预约号{{ reference }}，时间{{ start }}，地点{{ unit }}"
                "{% if address %}（{{ address }}）{% endif %}{% if phone %}，电话{{ phone }}{% endif %}。"
                "工作人员会尽快与您确认，改约或取消请凭预约号致电。",
                sms_params={
                    "reference": "{{ reference }}",
                    "start": "{{ start }}",
                    "unit": "{{ unit }}",
                    "address": "{{ address }}",
                    "phone": "{{ phone }}",
                },
                required=("reference", "start", "unit"),
            )
        )
