"""Send a test notification to one account now, to check the SMS and e-mail configuration."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from huey.contrib.djhuey import HUEY

from apps.notifications import services
from apps.notifications.choices import Channel
from apps.notifications.models import Delivery


class Command(BaseCommand):
    help = "向指定账号发送一条测试通知，并立即显示各渠道的发送结果（用于检查短信、邮件配置）。"

    def add_arguments(self, parser):
        parser.add_argument("username", help="接收测试通知的登录名")
        parser.add_argument(
            "--channel",
            action="append",
            choices=[Channel.SMS, Channel.EMAIL],
            help="要测试的渠道，可重复；默认短信和邮件都测试",
        )

    def handle(self, *args, username, channel, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"没有登录名为“{username}”的账号。")
        channels = (Channel.INAPP, *(channel or [Channel.SMS, Channel.EMAIL]))
        # Run the real huey task in this process, retries without waiting, so the final result is
        # known before the command ends and nothing is left queued in memory.
        previous, HUEY.immediate = HUEY.immediate, True
        try:
            with override_settings(NOTIFY_RETRY_DELAY=0):
                notification = services.notify_user(
                    user=user,
                    template="generic",
                    context={"title": "心援平台测试通知", "body": "这是一条测试通知，收到即表示通知渠道配置正确。"},
                    channels=channels,
                )
        except ValidationError as error:
            raise CommandError("；".join(error.messages)) from error
        finally:
            HUEY.immediate = previous
        for delivery in Delivery.objects.filter(notification=notification).order_by("id"):
            line = f"{delivery.get_channel_display()}：{delivery.get_status_display()}"
            if delivery.address:
                line += f"（{delivery.address}）"
            if delivery.error:
                line += f" —— {delivery.error}"
            self.stdout.write(line)
