"""Left-menu sections of this module; apps.core.menu appends SECTIONS after the built-in ones."""

from django.utils.translation import gettext_lazy as _

from apps.core.menu import MenuItem, MenuSection
from apps.core.perms import Perm

SECTIONS: list = [
    MenuSection(
        _("心理测评"),
        (
            MenuItem(_("测评记录"), "assessments:result-list", "clipboard2-pulse", Perm.ASSESSMENT_VIEW),
            MenuItem(_("量表与划界分"), "assessments:scale-list", "list-check", Perm.ASSESSMENT_VIEW),
        ),
    )
]
