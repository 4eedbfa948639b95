"""Left-menu sections of this module; apps.core.menu appends SECTIONS after the built-in ones."""

from django.utils.translation import gettext_lazy as _

from apps.core.menu import MenuItem, MenuSection
from apps.core.perms import Perm

SECTIONS: list = [
    MenuSection(
        _("协会项目"),
        (
            MenuItem(_("项目"), "projects:project-list", "kanban", Perm.PROJECT_VIEW),
            MenuItem(_("进度报告"), "projects:report-list", "calendar2-check", Perm.PROJECT_VIEW),
            MenuItem(_("项目统计"), "projects:statistics", "bar-chart", Perm.PROJECT_VIEW),
        ),
    )
]
