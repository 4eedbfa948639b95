"""The left menu: modules and their pages, each shown only to users holding its permission."""

from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import import_module

from django.apps import apps
from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext_lazy as _

from .access import can
from .perms import AUTHENTICATED, Perm


@dataclass(frozen=True)
class MenuItem:
    label: str
    url_name: str
    icon: str
    permission: str


@dataclass(frozen=True)
class MenuSection:
    label: str
    items: tuple[MenuItem, ...]


MENU: list[MenuSection] = [
    MenuSection(_("工作台"), (MenuItem(_("首页"), "core:home", "house", AUTHENTICATED),)),
    MenuSection(
        _("服务对象"),
        (
            MenuItem(_("来访者"), "clients:client-list", "person-vcard", Perm.CLIENT_VIEW),
            MenuItem(_("信息归集"), "reports:summary", "table", Perm.CLIENT_VIEW),
            MenuItem(_("个案"), "casework:case-list", "folder2-open", Perm.CLIENT_VIEW),
            MenuItem(_("今日预约"), "appointments:today", "calendar-day", Perm.CLIENT_VIEW),
            MenuItem(_("预约管理"), "appointments:appointment-list", "calendar-check", Perm.APPOINTMENT_MANAGE),
            MenuItem(_("日常排查"), "screening:record-list", "clipboard-check", Perm.SCREENING_MANAGE),
            MenuItem(_("电话网络咨询"), "outreach:inquiry-list", "telephone", Perm.CLIENT_VIEW),
            MenuItem(_("上门关怀"), "outreach:visit-mine", "house-heart", Perm.CLIENT_VIEW),
            MenuItem(_("转介记录"), "outreach:referral-list", "box-arrow-up-right", Perm.CLIENT_VIEW),
        ),
    ),
    MenuSection(
        _("组织与人员"),
        (
            MenuItem(_("组织架构"), "orgs:home", "diagram-3", Perm.ORG_VIEW),
            MenuItem(_("人员账号"), "accounts:user-list", "people", Perm.USER_VIEW),
            MenuItem(_("角色与权限"), "accounts:role-list", "shield-lock", Perm.ROLE_VIEW),
        ),
    ),
    MenuSection(
        _("安全审计"),
        (
            MenuItem(_("审计日志"), "audit:entry-list", "journal-text", Perm.AUDIT_VIEW),
            MenuItem(_("登录锁定"), "accounts:lockouts", "lock", Perm.SECURITY_MANAGE),
            MenuItem(_("角色授予审批"), "accounts:grant-request-list", "person-check", Perm.SECURITY_MANAGE),
        ),
    ),
    MenuSection(
        _("工作日历"), (MenuItem(_("节假日日历"), "workdays:override-list", "calendar3", Perm.CALENDAR_MANAGE),)
    ),
    MenuSection(_("数据导出"), (MenuItem(_("我的导出"), "exports:job-list", "download", AUTHENTICATED),)),
    MenuSection(_("接口"), (MenuItem(_("API 文档"), "api-docs", "code-square", AUTHENTICATED),)),
]


@cache
def all_sections() -> tuple[MenuSection, ...]:
    """The built-in sections, then each installed module's ``apps.<module>.menu.SECTIONS`` (found once)."""
    sections = list(MENU)
    for config in apps.get_app_configs():
        if config.name.startswith("apps."):
            try:
                module = import_module(f"{config.name}.menu")
            except ModuleNotFoundError:
                continue
            sections.extend(getattr(module, "SECTIONS", ()))
    return tuple(sections)


@lru_cache(maxsize=512)
def _menu_url(url_name: str, script_prefix: str) -> str:
    """Menu links never change while the process runs: reverse each once (per script prefix)."""
    return reverse(url_name)


def menu_for(user, current_path: str) -> list[dict]:
    sections = []
    for section in all_sections():
        items = []
        for item in section.items:
            if item.permission != AUTHENTICATED and not can(user, item.permission):
                continue
            url = _menu_url(item.url_name, get_script_prefix())
            active = current_path == url if url == "/" else current_path.startswith(url)
            items.append({"label": item.label, "url": url, "icon": item.icon, "active": active})
        if items:
            sections.append({"label": section.label, "items": items})
    return sections
