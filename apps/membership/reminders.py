"""Reminder providers (apps.notifications.reminders): dues arrears and expiring certificates.

Each yields what is due now; the scan sends each reminder once (dedupe key per member and year,
or per certificate and expiry date).
"""

import datetime as dt

from apps.notifications.reminders import DueReminder
from apps.orgs.choices import UnitKind
from apps.orgs.models import OrgUnit

from . import selectors

DUES_REMINDER_FROM = (3, 1)  # from 1 March, members who have not paid this year's dues are reminded


def dues_arrears(now):
    """H-MEM-3: remind members in arrears for the current year (once per member and year)."""
    today = selectors.today()
    if (today.month, today.day) < DUES_REMINDER_FROM:
        return
    for association in OrgUnit.objects.filter(kind=UnitKind.ASSOCIATION, is_active=True):
        for row in selectors.arrears(association, today.year):
            member = row["member"]
            yield DueReminder(
                member.user,
                "generic",
                {
                    "title": f"{today.year} 年会费待缴",
                    "body": f"{association.name}会员 {member.number}：应缴 {row['due']} 元，已缴 {row['paid']} 元。",
                },
                "/membership/me/",
                f"{member.pk}:{today.year}",
            )


def expiring_certificates(now):
    """H-MEM-3: remind members 60 days before a certificate expires (once per certificate and date)."""
    for association in OrgUnit.objects.filter(kind=UnitKind.ASSOCIATION, is_active=True):
        for cert in selectors.expiring_certificates(association):
            if cert.expires_on < selectors.today() - dt.timedelta(days=365):
                continue
            yield DueReminder(
                cert.member.user,
                "generic",
                {
                    "title": "资格证书即将到期",
                    "body": f"您的{cert.get_kind_display()}证书有效期至 {cert.expires_on:%Y-%m-%d}，"
                    "请及时更新并告知会员工作部。",
                },
                "/membership/me/",
                f"{cert.pk}:{cert.expires_on:%Y%m%d}",
            )
