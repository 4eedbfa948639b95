"""Authorization-matrix targets of apps.crisis: every row is created in the unit the request aims at."""

from tests.authz import Target


def _expression(world, unit):
    from apps.crisis.models import CrisisExpression

    row, _ = CrisisExpression.objects.get_or_create(
        unit_path=unit.path, normalized="矩阵危机词", defaults={"unit": unit, "phrase": "矩阵危机词"}
    )
    return {"pk": row.pk}


def _unit(world, unit):
    return {"pk": unit.pk}


TARGETS = {
    "crisis:expression-list": Target(body=lambda world, unit: {"unit": unit.pk, "phrase": "矩阵新词"}),
    "crisis:expression-toggle": Target(_expression),
    "crisis:handler-list": Target(),
    "crisis:handler-edit": Target(_unit),
}
