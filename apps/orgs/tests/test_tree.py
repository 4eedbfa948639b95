import pytest
from django.core.exceptions import ValidationError

from apps.core.access import can, scope
from apps.core.errors import ConflictError
from apps.core.perms import Perm
from apps.orgs import services
from apps.orgs.choices import UnitKind
from apps.orgs.models import OrgUnit


def test_paths_make_subtrees_prefix_queries(tree):
    """S-ORG-1: a subtree is one prefix query on the materialised path."""
    subtree = set(OrgUnit.objects.filter(path__startswith=tree.s1.path).values_list("code", flat=True))
    assert subtree == {"T-S1", "T-C1", "T-C2"}
    assert tree.c1.depth == 3 and tree.c1.tenant_id == tree.city.pk
    assert tree.other.tenant_id == tree.other.pk
    assert tree.c1.level == "C" and tree.s1.level == "B" and tree.district.level == "A"


def test_scope_covers_descendants_not_siblings_or_parents(tree, street_manager):
    """S-ORG-2: a permission on a unit covers its descendants, never siblings or ancestors."""
    visible = set(scope(OrgUnit.objects.all(), street_manager, Perm.ORG_VIEW).values_list("code", flat=True))
    assert visible == {"T-S1", "T-C1", "T-C2"}
    assert can(street_manager, Perm.ORG_MANAGE, tree.c1)
    assert not can(street_manager, Perm.ORG_VIEW, tree.s2)
    assert not can(street_manager, Perm.ORG_VIEW, tree.district)
    assert not can(street_manager, Perm.ORG_VIEW, tree.other)


def test_no_assignment_sees_nothing(tree, nobody):
    """S-ORG-2: deny by default — an empty assignment set sees nothing."""
    assert not scope(OrgUnit.objects.all(), nobody, Perm.ORG_VIEW).exists()
    assert not can(nobody, Perm.ORG_VIEW)


def test_move_rewrites_subtree_paths(tree, district_admin):
    """S-ORG-1: moving a unit keeps the paths, depths and tenant of its whole subtree consistent."""
    services.do_move_unit(actor=district_admin, unit=tree.c1, new_parent=tree.s2)
    tree.c1.refresh_from_db()
    assert tree.c1.path == f"{tree.s2.path}{tree.c1.pk}/"
    services.do_move_unit(actor=None, unit=tree.s1, new_parent=tree.other)
    tree.c2.refresh_from_db()
    assert tree.c2.path == f"{tree.other.path}{tree.s1.pk}/{tree.c2.pk}/"
    assert tree.c2.depth == 2 and tree.c2.tenant_id == tree.other.pk
    for unit in OrgUnit.objects.all():
        expected = f"{unit.parent.path}{unit.pk}/" if unit.parent else f"/{unit.pk}/"
        assert unit.path == expected


def test_move_under_own_descendant_is_refused(tree, district_admin):
    """S-ORG-1: a cycle is refused with a Chinese message and nothing changes."""
    before = list(OrgUnit.objects.values_list("pk", "path"))
    with pytest.raises(ValidationError, match="下级单位之下"):
        services.do_move_unit(actor=district_admin, unit=tree.s1, new_parent=tree.c1)
    with pytest.raises(ValidationError, match="下级单位之下"):
        services.do_move_unit(actor=district_admin, unit=tree.s1, new_parent=tree.s1)
    assert list(OrgUnit.objects.values_list("pk", "path")) == before


def test_move_out_of_scope_is_refused(tree, street_manager):
    """S-ORG-2: a manager cannot move a unit under one outside their subtree."""
    with pytest.raises(ValidationError):
        services.do_move_unit(actor=street_manager, unit=tree.c1, new_parent=tree.s2)


def test_rank_rule_refuses_street_under_community(tree, district_admin):
    with pytest.raises(ValidationError, match="不能设在"):
        services.do_create_unit(
            actor=district_admin, parent=tree.c1, kind=UnitKind.STREET_STATION, name="错位街道", code="BAD-1"
        )


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("", "OK-1", "请填写单位名称"),
        ("甲" * 101, "OK-2", "不能超过 100"),
        ("新社区", "", "请填写单位编码"),
        ("新社区", "有中文", "只能包含"),
        ("新社区", "T-C1", "已被使用"),
        ("一社区室", "OK-3", "同一上级单位下已有"),
    ],
)
def test_bad_unit_input_is_refused(tree, district_admin, name, code, message):
    count = OrgUnit.objects.count()
    with pytest.raises(ValidationError, match=message):
        services.do_create_unit(
            actor=district_admin, parent=tree.s1, kind=UnitKind.COMMUNITY_ROOM, name=name, code=code
        )
    assert OrgUnit.objects.count() == count


def test_stale_version_is_a_conflict(tree, district_admin):
    services.do_rename_unit(actor=district_admin, unit=tree.c1, name="改名一", code="T-C1", expected_version=1)
    with pytest.raises(ConflictError):
        services.do_rename_unit(actor=district_admin, unit=tree.c1, name="改名二", code="T-C1", expected_version=1)
    tree.c1.refresh_from_db()
    assert tree.c1.name == "改名一"


def test_deactivate_rules(tree, district_admin):
    with pytest.raises(ValidationError, match="下级单位"):
        services.do_deactivate_unit(actor=district_admin, unit=tree.s2)
    services.do_deactivate_unit(actor=district_admin, unit=tree.c3)
    services.do_deactivate_unit(actor=district_admin, unit=tree.s2)
    with pytest.raises(ValidationError, match="上级单位已停用"):
        services.do_reactivate_unit(actor=district_admin, unit=OrgUnit.objects.get(pk=tree.c3.pk))


def test_assignment_at_inactive_unit_grants_nothing(tree, counsellor_a, district_admin):
    services.do_deactivate_unit(actor=district_admin, unit=tree.c1)
    assert not can(counsellor_a, Perm.ORG_VIEW)


def test_every_change_is_audited(tree, district_admin):
    """X-4: creating, renaming, moving and deactivating a unit each write an audit entry."""
    from apps.audit.models import AuditEntry

    start = AuditEntry.objects.count()
    unit = services.do_create_unit(
        actor=district_admin, parent=tree.s1, kind=UnitKind.COMMUNITY_ROOM, name="审计社区", code="AUD-1"
    )
    services.do_rename_unit(actor=district_admin, unit=unit, name="审计社区二", code="AUD-1")
    services.do_move_unit(actor=district_admin, unit=unit, new_parent=tree.s2)
    services.do_deactivate_unit(actor=district_admin, unit=unit)
    entries = list(AuditEntry.objects.order_by("seq")[start:])
    assert [e.action for e in entries] == ["create", "update", "update", "update", "update"]
    rename = entries[1]
    assert rename.actor == district_admin and rename.changes["name"] == {"before": "审计社区", "after": "审计社区二"}
    assert all(e.object_id == str(unit.pk) for e in entries)
