"""Left-menu sections of this module; apps.core.menu appends SECTIONS after the built-in ones."""

from apps.core.menu import MenuItem, MenuSection
from apps.core.perms import Perm

SECTIONS: list = [
    MenuSection(
        "协会服务",
        (
            MenuItem("我的接案与学时", "assistance:my", "person-check", Perm.ASSISTANCE_SELF),
            MenuItem("个案求助分派", "assistance:help-list", "inboxes", Perm.ASSISTANCE_VIEW),
            MenuItem("学时与服务时长", "assistance:hours-list", "mortarboard", Perm.ASSISTANCE_VIEW),
            MenuItem("年度学时统计", "assistance:hours-totals", "bar-chart", Perm.ASSISTANCE_VIEW),
            MenuItem("志愿服务排行", "assistance:volunteer-ranking", "award", Perm.ASSISTANCE_VIEW),
        ),
    ),
    MenuSection(
        "应急援助",
        (
            MenuItem("应激事件", "assistance:event-list", "exclamation-octagon", Perm.ASSISTANCE_VIEW),
            MenuItem("援助人员名册", "assistance:responder-list", "people-fill", Perm.ASSISTANCE_VIEW),
            MenuItem("热线值班表", "assistance:rota", "telephone-inbound", Perm.ASSISTANCE_VIEW),
        ),
    ),
]
