"""Create the top unit, the first system administrator and (optionally) the first security administrator of an
empty production install. Only a security administrator may appoint security and audit administrators (three-admin
rule, issue 14), so the first one comes from the server's console, like the system administrator."""

import getpass
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.models import Role
from apps.accounts.services import do_assign_role, do_create_user
from apps.orgs.choices import UnitKind
from apps.orgs.models import OrgUnit
from apps.orgs.services import do_create_unit


class Command(BaseCommand):
    help = "初始化空库：创建顶层单位和第一个系统管理员（密码取自 XINYUAN_BOOTSTRAP_PASSWORD 或交互输入）。"

    def add_arguments(self, parser):
        parser.add_argument("--unit-name", required=True, help="顶层单位名称，如“某某区社会心理服务指导中心”")
        parser.add_argument("--unit-code", required=True, help="顶层单位编码，如 330105")
        parser.add_argument("--kind", default=UnitKind.DISTRICT_CENTRE, choices=UnitKind.values)
        parser.add_argument("--username", required=True, help="系统管理员登录名")
        parser.add_argument("--full-name", required=True, help="系统管理员姓名")
        parser.add_argument("--security-username", help="第一个安全管理员的登录名（此后由其在系统内任命审计管理员）")
        parser.add_argument("--security-full-name", help="第一个安全管理员姓名")

    def handle(self, *args, **options):
        if OrgUnit.objects.exists():
            raise CommandError("数据库中已有单位，bootstrap 只用于空库。")
        if bool(options["security_username"]) != bool(options["security_full_name"]):
            raise CommandError("--security-username 与 --security-full-name 须同时给出。")
        password = _password("XINYUAN_BOOTSTRAP_PASSWORD", "系统管理员")
        security_password = (
            _password("XINYUAN_BOOTSTRAP_SECURITY_PASSWORD", "安全管理员") if options["security_username"] else None
        )
        try:
            with transaction.atomic():
                unit = do_create_unit(
                    actor=None, parent=None, kind=options["kind"], name=options["unit_name"], code=options["unit_code"]
                )
                user = _administrator(unit, options["username"], options["full_name"], password, "system_admin")
                if security_password:
                    _administrator(
                        unit,
                        options["security_username"],
                        options["security_full_name"],
                        security_password,
                        "security_admin",
                    )
        except ValidationError as error:
            raise CommandError("；".join(error.messages)) from error
        self.stdout.write(self.style.SUCCESS(f"已创建顶层单位“{unit.name}”和系统管理员“{user.username}”。"))
        if security_password:
            self.stdout.write(self.style.SUCCESS(f"已创建安全管理员“{options['security_username']}”。"))


def _administrator(unit, username: str, full_name: str, password: str, role_code: str):
    user = do_create_user(actor=None, unit=unit, username=username, full_name=full_name, password=password)
    do_assign_role(actor=None, user=user, unit=unit, role=Role.objects.get(code=role_code))
    return user


def _password(variable: str, who: str) -> str:
    password = os.environ.get(variable)
    if password:
        return password
    if not os.isatty(0):
        raise CommandError(f"请设置环境变量 {variable} 或在终端中运行以输入{who}密码。")
    password = getpass.getpass(f"{who}密码：")
    if password != getpass.getpass("再次输入密码："):
        raise CommandError("两次输入的密码不一致。")
    return password
