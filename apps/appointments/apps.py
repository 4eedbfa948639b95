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
