"""Left-menu sections of this module; apps.core.menu appends SECTIONS after the built-in ones."""

from django.utils.translation import gettext_lazy as _

from apps.core.menu import MenuItem, MenuSection
from apps.core.perms import AUTHENTICATED, Perm

SECTIONS: list = [
    MenuSection(
        _("协会会议"),
        (
            MenuItem(_("我的会议"), "governance:mine", "person-check", AUTHENTICATED),
            MenuItem(_("会议"), "governance:meeting-list", "people-fill", Perm.GOVERNANCE_VIEW),
            MenuItem(_("书面工作报告"), "governance:report-list", "file-earmark-text", Perm.GOVERNANCE_VIEW),
            MenuItem(_("述职报告"), "governance:duty-list", "mic", Perm.GOVERNANCE_VIEW),
        ),
    )
]
