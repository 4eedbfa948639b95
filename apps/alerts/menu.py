"""Left-menu sections of this module; apps.core.menu appends SECTIONS after the built-in ones."""

from django.utils.translation import gettext_lazy as _

from apps.core.menu import MenuItem, MenuSection
from apps.core.perms import Perm

SECTIONS: list = [
    MenuSection(
        _("三色预警"),
        (
            MenuItem(_("预警看板"), "alerts:dashboard", "speedometer2", Perm.ALERT_STATS),
            MenuItem(_("重点人员"), "alerts:warning-list", "exclamation-triangle", Perm.ALERT_VIEW),
            MenuItem(_("预警规则"), "alerts:policy", "sliders", Perm.ALERT_CONFIGURE),
        ),
    )
]
