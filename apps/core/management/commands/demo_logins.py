from django.core.management.base import BaseCommand

from apps.accounts.models import Assignment

from .seed_demo import DEMO_LOGINS, DEMO_PASSWORD


class Command(BaseCommand):
    help = "打印演示账号（登录名、角色、单位）和演示密码。"

    def handle(self, *args, **options):
        usernames = [login[0] for login in DEMO_LOGINS]
        rows = (
            Assignment.objects.filter(user__username__in=usernames)
            .select_related("user", "unit", "role")
            .order_by("user_id", "id")
        )
        self.stdout.write(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
        for a in rows:
            self.stdout.write(f"  {a.user.username:<14} {a.role.name:<10} {a.unit.name}")
