"""Left-menu entries of the crisis-expression module; apps.core.menu appends SECTIONS."""

from django.utils.translation import gettext_lazy as _

from apps.core.menu import MenuItem, MenuSection
from apps.core.perms import Perm

SECTIONS: list = [
    MenuSection(
        _("危机表述提示"),
        (
            MenuItem(_("危机表述词表"), "crisis:expression-list", "chat-square-text", Perm.ALERT_CONFIGURE),
            MenuItem(_("危机处置负责人"), "crisis:handler-list", "person-exclamation", Perm.USER_MANAGE),
        ),
    )
]
