"""Built-in roles: the named permission sets a district or an association starts with.

They are written to the database after every ``migrate`` so a new permission reaches existing
installs. Later modules extend ``BUILTIN_ROLES`` with their own permission codes.
"""

from dataclasses import dataclass

from apps.core.perms import Perm
from apps.orgs.choices import UnitKind

# No single account may hold two roles of this group (MLPS level 3: separation of the three
# administrators).
THREE_ADMINS = "three_admins"


@dataclass(frozen=True)
class RoleSpec:
    code: str
    name: str
    description: str
    permissions: tuple[str, ...]
    exclusive_group: str = ""
    # Kinds of org unit where the role may be held (S-ORG-2, S-STAFF-2); empty means any unit. The kind
    # carries the level of the standard (district centre A, street station B, community room C) and
    # also covers the association's bodies, which have no level.
    unit_kinds: tuple[str, ...] = ()


# Roles of counselling professionals (心理咨询师 / 心理治疗师 / 精神科医生): the people a "负责咨询师" pick-list
# offers. There is no separate therapist role; a therapist holds ``counsellor``. The counselling assistant
# (心理辅导员) assists and is not a responsible counsellor (S-STAFF-2 lists the posts apart).
COUNSELLING_ROLES = ("counsellor", "psychiatrist")

_DISTRICT = (UnitKind.DISTRICT_CENTRE,)
_STREET = (UnitKind.STREET_STATION,)
_COMMUNITY = (UnitKind.COMMUNITY_ROOM,)
# Units that serve clients: the three levels of the standard plus departmental counselling rooms and
# the psychology sections of community health centres.
_SERVICE_UNITS = (
    UnitKind.DISTRICT_CENTRE,
    UnitKind.STREET_STATION,
    UnitKind.COMMUNITY_ROOM,
    UnitKind.COUNSELLING_ROOM,
    UnitKind.HEALTH_SECTION,
)
_ADMINISTRATION = (
    UnitKind.PROVINCE,
    UnitKind.CITY,
    UnitKind.DISTRICT_CENTRE,
    UnitKind.STREET_STATION,
    UnitKind.LEADERSHIP_GROUP,
)
# The three administrators serve a whole system from its top: a province, city or district, or the association.
_TOP = (UnitKind.PROVINCE, UnitKind.CITY, UnitKind.DISTRICT_CENTRE, UnitKind.ASSOCIATION)
_ASSOCIATION = (UnitKind.ASSOCIATION, UnitKind.DEPARTMENT)
_ASSOCIATION_ANY = (UnitKind.ASSOCIATION, UnitKind.DEPARTMENT, UnitKind.COMMITTEE)


_MANAGE_UNITS = (
    Perm.ORG_VIEW,
    Perm.ORG_MANAGE,
    Perm.USER_VIEW,
    Perm.USER_MANAGE,
    Perm.ROLE_VIEW,
    Perm.EXPORT_XLSX,
    Perm.EXPORT_CSV,
)
_CLIENT = (Perm.ORG_VIEW, Perm.CLIENT_VIEW, Perm.CLIENT_MANAGE)
_CASEWORK = (*_CLIENT, Perm.NOTE_VIEW, Perm.EMERGENCY_ACCESS)
_UNIT_LEAD = (*_MANAGE_UNITS, Perm.CLIENT_VIEW, Perm.CLIENT_MANAGE, Perm.CLIENT_UNMASK)

BUILTIN_ROLES: tuple[RoleSpec, ...] = (
    RoleSpec(
        "district_admin",
        "区级管理员",
        "区社会心理服务指导中心负责人，管理全区单位与人员",
        (
            *_UNIT_LEAD,
            Perm.EMERGENCY_ACCESS,
            Perm.SCREENING_MANAGE,
            Perm.CONFIDENTIALITY_OVERRIDE,
            Perm.APPOINTMENT_MANAGE,
            Perm.ASSESSMENT_VIEW,
            Perm.ASSESSMENT_ADMINISTER,
            Perm.SCALE_MANAGE,
            Perm.ALERT_VIEW,
            Perm.ALERT_TAG,
            Perm.ALERT_MANAGE,
            Perm.ALERT_FOLLOW_UP,
            Perm.ALERT_LOWER_RED,
            Perm.ALERT_STATS,
            Perm.ALERT_CONFIGURE,
        ),
        unit_kinds=_DISTRICT,
    ),
    RoleSpec(
        "street_manager",
        "街道负责人",
        "街道社会心理服务站负责人，管理本街道单位与人员",
        (
            *_UNIT_LEAD,
            Perm.EMERGENCY_ACCESS,
            Perm.SCREENING_MANAGE,
            Perm.APPOINTMENT_MANAGE,
            Perm.ASSESSMENT_VIEW,
            Perm.ASSESSMENT_ADMINISTER,
            Perm.ALERT_VIEW,
            Perm.ALERT_TAG,
            Perm.ALERT_FOLLOW_UP,
            Perm.ALERT_STATS,
        ),
        unit_kinds=_STREET,
    ),
    RoleSpec(
        "community_manager",
        "社区负责人",
        "社区社会心理服务室负责人，管理本社区人员",
        (
            *_UNIT_LEAD,
            Perm.SCREENING_MANAGE,
            Perm.APPOINTMENT_MANAGE,
            Perm.ASSESSMENT_VIEW,
            Perm.ASSESSMENT_ADMINISTER,
            Perm.ALERT_VIEW,
            Perm.ALERT_TAG,
            Perm.ALERT_FOLLOW_UP,
            Perm.ALERT_STATS,
        ),
        unit_kinds=_COMMUNITY,
    ),
    RoleSpec(
        "community_worker",
        "社区专干",
        "社区日常排查、重点人员标记与上报",
        (
            *_CLIENT,
            Perm.SCREENING_MANAGE,
            Perm.APPOINTMENT_MANAGE,
            Perm.ASSESSMENT_VIEW,
            Perm.ASSESSMENT_ADMINISTER,
            Perm.ALERT_VIEW,
            Perm.ALERT_TAG,
            Perm.ALERT_FOLLOW_UP,
        ),
        unit_kinds=_COMMUNITY,
    ),
    RoleSpec(
        "counsellor",
        "心理咨询师",
        "接待与咨询，记录咨询过程",
        (
            *_CASEWORK,
            Perm.CONFIDENTIALITY_OVERRIDE,
            Perm.APPOINTMENT_MANAGE,
            Perm.ASSESSMENT_VIEW,
            Perm.ASSESSMENT_ADMINISTER,
            Perm.ALERT_VIEW,
            Perm.ALERT_FOLLOW_UP,
        ),
        unit_kinds=_SERVICE_UNITS,
    ),
    RoleSpec(
        "counselling_assistant",
        "心理辅导员",
        "协助咨询与上门关怀",
        (
            *_CLIENT,
            Perm.APPOINTMENT_MANAGE,
            Perm.ASSESSMENT_VIEW,
            Perm.ASSESSMENT_ADMINISTER,
            Perm.ALERT_VIEW,
            Perm.ALERT_FOLLOW_UP,
        ),
        unit_kinds=_SERVICE_UNITS,
    ),
    RoleSpec("volunteer", "志愿者", "只看到所承担任务需要的信息", ()),
    RoleSpec(
        "psychiatrist",
        "精神科医生",
        "初步诊断与转介意见",
        (
            *_CASEWORK,
            Perm.CONFIDENTIALITY_OVERRIDE,
            Perm.DIAGNOSE,
            Perm.ASSESSMENT_VIEW,
            Perm.ASSESSMENT_ADMINISTER,
            Perm.ALERT_VIEW,
        ),
        unit_kinds=_SERVICE_UNITS,
    ),
    RoleSpec("archivist", "档案管理员", "档案收集、借阅与移交", _CLIENT, unit_kinds=_SERVICE_UNITS),
    RoleSpec("evaluator", "考核评估员", "年度考核评估", (Perm.ORG_VIEW, Perm.ALERT_STATS), unit_kinds=_ADMINISTRATION),
    RoleSpec(
        "association_secretariat",
        "协会秘书处",
        "协会日常事务与会员、项目管理",
        (
            *_MANAGE_UNITS,
            Perm.GOVERNANCE_VIEW,
            Perm.GOVERNANCE_MANAGE,
            Perm.PROJECT_VIEW,
            Perm.PROJECT_MANAGE,
            Perm.PROJECT_APPROVE,
            Perm.ASSISTANCE_VIEW,
            Perm.HELP_MANAGE,
            Perm.HELP_IDENTITY,
            Perm.HOURS_MANAGE,
            Perm.CRISIS_MANAGE,
            Perm.ASSISTANCE_SELF,
            Perm.MEMBERSHIP_VIEW,
            Perm.MEMBERSHIP_REVIEW,
            Perm.MEMBERSHIP_MANAGE,
            Perm.MEMBERSHIP_VOTE_CLOSE,
            Perm.DUES_MANAGE,
            Perm.POSITION_MANAGE,
            Perm.CONDUCT_MANAGE,
        ),
        unit_kinds=_ASSOCIATION,
    ),
    RoleSpec(
        "membership_officer",
        "会员工作部专员",
        "会员申请初审与会员管理",
        (
            Perm.ORG_VIEW,
            Perm.USER_VIEW,
            Perm.GOVERNANCE_VIEW,
            Perm.PROJECT_VIEW,
            Perm.ASSISTANCE_VIEW,
            Perm.HOURS_MANAGE,
            Perm.ASSISTANCE_SELF,
            Perm.MEMBERSHIP_VIEW,
            Perm.MEMBERSHIP_REVIEW,
            Perm.MEMBERSHIP_MANAGE,
            Perm.DUES_MANAGE,
            Perm.CONDUCT_MANAGE,
            # The member roll and the dues ledger are reported upward as spreadsheets.
            Perm.EXPORT_XLSX,
            Perm.EXPORT_CSV,
        ),
        unit_kinds=_ASSOCIATION,
    ),
    RoleSpec(
        "board_member",
        "理事",
        "理事会表决",
        (
            Perm.ORG_VIEW,
            Perm.GOVERNANCE_VIEW,
            Perm.PROJECT_VIEW,
            Perm.ASSISTANCE_VIEW,
            Perm.ASSISTANCE_SELF,
            Perm.MEMBERSHIP_VIEW,
            Perm.MEMBERSHIP_VOTE,
        ),
        unit_kinds=(UnitKind.ASSOCIATION,),
    ),
    RoleSpec(
        "committee_head",
        "专业委员会主任",
        "专业委员会事务与个案分派",
        (
            Perm.ORG_VIEW,
            Perm.GOVERNANCE_VIEW,
            Perm.PROJECT_VIEW,
            Perm.PROJECT_MANAGE,
            Perm.ASSISTANCE_VIEW,
            Perm.HELP_MANAGE,
            Perm.HELP_IDENTITY,
            Perm.CRISIS_MANAGE,
            Perm.ASSISTANCE_SELF,
        ),
        unit_kinds=(UnitKind.COMMITTEE,),
    ),
    RoleSpec("member", "会员", "会员自助服务，只看到本人记录", (Perm.ASSISTANCE_SELF,), unit_kinds=_ASSOCIATION_ANY),
    RoleSpec(
        "system_admin",
        "系统管理员",
        "维护组织、账号与角色；不接触来访者数据与审计",
        (*_MANAGE_UNITS, Perm.ROLE_MANAGE, Perm.CALENDAR_MANAGE),
        THREE_ADMINS,
        unit_kinds=_TOP,
    ),
    RoleSpec(
        "security_admin",
        "安全管理员",
        "账号安全策略、锁定解除与密钥管理",
        (Perm.ORG_VIEW, Perm.USER_VIEW, Perm.SECURITY_MANAGE),
        THREE_ADMINS,
        unit_kinds=_TOP,
    ),
    RoleSpec("audit_admin", "审计管理员", "查阅与导出审计日志", (Perm.ORG_VIEW, Perm.AUDIT_VIEW), THREE_ADMINS, _TOP),
)


def sync_builtin_roles(**kwargs):
    """Create or update the built-in roles so their permissions match the code."""
    from .models import Role

    for spec in BUILTIN_ROLES:
        Role.objects.update_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "description": spec.description,
                "permissions": sorted(str(p) for p in spec.permissions),
                "builtin": True,
                "exclusive_group": spec.exclusive_group,
                "unit_kinds": [str(kind) for kind in spec.unit_kinds],
            },
        )
