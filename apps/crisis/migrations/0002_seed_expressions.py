"""Seed the shipped crisis expressions (common Chinese ones); a unit adds its own on the list page."""

import unicodedata

from django.db import migrations

PHRASES = (
    "不想活", "活着没意思", "活不下去", "不如死了", "死了算了", "想死", "寻死", "去死", "自杀", "轻生",
    "自尽", "自残", "割腕", "跳楼", "跳河", "上吊", "烧炭", "喝农药", "安眠药", "结束生命", "结束自己",
    "了结自己", "一了百了", "遗书",
)  # fmt: skip


def _normalize(text: str) -> str:
    # the same rule as apps.crisis.services.normalize, frozen here as migrations must be
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in ("Z", "P", "S", "C"))


def seed(apps, schema_editor):
    CrisisExpression = apps.get_model("crisis", "CrisisExpression")
    for phrase in PHRASES:
        CrisisExpression.objects.get_or_create(unit_path="", normalized=_normalize(phrase), defaults={"phrase": phrase})


def unseed(apps, schema_editor):
    CrisisExpression = apps.get_model("crisis", "CrisisExpression")
    CrisisExpression.objects.filter(unit__isnull=True, normalized__in=[_normalize(p) for p in PHRASES]).delete()


class Migration(migrations.Migration):
    dependencies = [("crisis", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
