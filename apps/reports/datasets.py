"""The de-identified case export for research and teaching (S-PRIN-4).

No name, ID number, phone, employer or address — not even masked: a keyed pseudonym stands for the
person, age is a band, place is the street only. Registered as an exports dataset, so it needs the
export permission, a reason, re-authentication, and arrives as an encrypted archive.
"""

import hashlib
import hmac

from django.conf import settings
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from apps.casework.models import Case, CounsellingSession
from apps.core.perms import Perm
from apps.exports.registry import Dataset, register
from apps.orgs.models import OrgUnit


def pseudonym(client_id: int) -> str:
    """A stable keyed pseudonym: the same person gets the same code, nobody can reverse it."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"deidentified-client:{client_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:12]


def age_band(birth_date) -> str:
    if birth_date is None:
        return "不详"
    today = timezone.localdate()
    age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    return "18岁以下" if age < 18 else "18-60岁" if age <= 60 else "60岁以上"


def _rows(user, filters):
    cases = (
        Case.objects.visible_to(user, Perm.CLIENT_VIEW)
        .select_related("client")
        # Only what the export shows: no identifier is read or decrypted, categories come in one query a chunk.
        .only("id", "unit_path", "state", "opened_at", "client__id", "client__gender", "client__birth_date")
        .prefetch_related("client__categories")
        .annotate(
            session_count=Count("sessions", distinct=True),
            latest_severity=Subquery(
                CounsellingSession.objects.filter(case=OuterRef("pk")).order_by("-happened_at").values("severity")[:1]
            ),
            latest_decision=Subquery(
                CounsellingSession.objects.filter(case=OuterRef("pk")).order_by("-happened_at").values("decision")[:1]
            ),
        )
        .order_by("id")
    )
    streets = dict(OrgUnit.objects.filter(level="B").values_list("pk", "name"))
    for case in cases.iterator(chunk_size=1000):
        client = case.client
        street_ids = [int(part) for part in case.unit_path.strip("/").split("/")]
        street = next((streets[i] for i in street_ids if i in streets), "")
        categories = "、".join(sorted(category.name for category in client.categories.all()))
        yield (
            pseudonym(client.pk),
            client.get_gender_display(),
            age_band(client.birth_date),
            categories,
            street,
            case.get_state_display(),
            case.session_count,
            case.latest_severity or "",
            case.latest_decision or "",
            timezone.localtime(case.opened_at).strftime("%Y-%m"),
        )


register(
    Dataset(
        key="cases_deidentified",
        label="去标识化个案数据",
        view_permission=Perm.CLIENT_VIEW,
        columns=(
            "匿名编号",
            "性别",
            "年龄段",
            "服务对象类别",
            "所属街道",
            "个案状态",
            "咨询次数",
            "最近严重程度",
            "最近处理决定",
            "建档年月",
        ),
        rows=_rows,
    )
)
