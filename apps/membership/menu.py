"""Left-menu sections of this module; apps.core.menu appends SECTIONS after the built-in ones."""

from django.utils.translation import gettext_lazy as _

from apps.core.menu import MenuItem, MenuSection
from apps.core.perms import AUTHENTICATED, Perm

SECTIONS: list = [
    MenuSection(
        _("协会会员"),
        (
            MenuItem(_("会员概况"), "membership:dashboard", "speedometer2", Perm.MEMBERSHIP_VIEW),
            MenuItem(_("入会申请"), "membership:application-list", "person-plus", Perm.MEMBERSHIP_VIEW),
            MenuItem(_("会员名册"), "membership:member-list", "people", Perm.MEMBERSHIP_VIEW),
            MenuItem(_("机构与职务"), "membership:position-list", "diagram-2", Perm.MEMBERSHIP_VIEW),
            MenuItem(_("会费台帐"), "membership:dues", "cash-coin", Perm.DUES_MANAGE),
            MenuItem(_("伦理投诉"), "membership:complaint-list", "shield-exclamation", Perm.CONDUCT_MANAGE),
            MenuItem(_("我的会员信息"), "membership:me", "person-badge", AUTHENTICATED),
        ),
    )
]
