"""The permission catalogue and the way views declare which permission they need.

A permission is a code such as ``org.view``. Roles are named sets of these codes; a user holds a
role at an org unit (an assignment) and the permission then covers that unit and its descendants.

Every URL must declare one of: a permission code, ``AUTHENTICATED`` (any logged-in user, the view
shows only the user's own things) or ``PUBLIC`` (no login). ``manage.py check`` fails otherwise.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models

PUBLIC = "__public__"
AUTHENTICATED = "__authenticated__"


class Perm(models.TextChoices):
    """Every permission code the platform knows; roles are built from these."""

    ORG_VIEW = "org.view", "查看组织架构"
    ORG_MANAGE = "org.manage", "管理组织架构"
    USER_VIEW = "user.view", "查看人员账号"
    USER_MANAGE = "user.manage", "管理人员账号与角色分配"
    ROLE_VIEW = "role.view", "查看角色"
    ROLE_MANAGE = "role.manage", "维护角色"
    SECURITY_MANAGE = "security.manage", "安全管理"
    AUDIT_VIEW = "audit.view", "查看审计日志"
    CLIENT_VIEW = "client.view", "查看来访者身份信息"
    NOTE_VIEW = "note.view", "查看咨询记录"
    CLIENT_MANAGE = "client.manage", "登记与维护来访者"
    CLIENT_UNMASK = "client.unmask", "查看完整身份证号与电话"
    EMERGENCY_ACCESS = "client.emergency", "紧急调阅范围外来访者"
    EXPORT_XLSX = "export.xlsx", "导出 Excel"
    EXPORT_CSV = "export.csv", "导出 CSV"
    CALENDAR_MANAGE = "calendar.manage", "维护节假日日历"
    CONFIDENTIALITY_OVERRIDE = "case.confidentiality_override", "突破保密"
    DIAGNOSE = "case.diagnose", "初步诊断"
    SCREENING_MANAGE = "screening.manage", "排查登记与导入"
    APPOINTMENT_MANAGE = "appointment.manage", "预约管理"
    MEMBERSHIP_VIEW = "membership.view", "查看会员与入会申请"
    MEMBERSHIP_REVIEW = "membership.review", "入会申请初审与简易程序入会"
    MEMBERSHIP_MANAGE = "membership.manage", "维护会员档案、专业委员会与证书"
    MEMBERSHIP_VOTE = "membership.vote", "理事会入会表决投票"
    MEMBERSHIP_VOTE_CLOSE = "membership.vote_close", "结束入会表决"
    DUES_MANAGE = "membership.dues", "会费标准与会费台帐"
    POSITION_MANAGE = "membership.positions", "维护协会机构与职务"
    CONDUCT_MANAGE = "membership.conduct", "伦理投诉、考核奖惩与撤销会员资格"
    GOVERNANCE_VIEW = "governance.view", "查看协会会议与述职"
    GOVERNANCE_MANAGE = "governance.manage", "组织会议、审批请假、登记工作报告与述职"
    PROJECT_VIEW = "project.view", "查看协会项目"
    PROJECT_MANAGE = "project.manage", "管理协会项目、预算与支出"
    PROJECT_APPROVE = "project.approve", "批准超预算支出与项目验收"
    ASSESSMENT_VIEW = "assessment.view", "查看心理测评结果"
    ASSESSMENT_ADMINISTER = "assessment.administer", "录入测评与发送测评链接"
    SCALE_MANAGE = "assessment.scale_manage", "导入量表与设置划界分"
    ASSISTANCE_VIEW = "assistance.view", "查看个案求助分派、会员学时与应急援助"
    HELP_MANAGE = "assistance.help_manage", "登记、分流与分派个案求助"
    HELP_IDENTITY = "assistance.help_identity", "查看求助者完整姓名与电话"
    HOURS_MANAGE = "assistance.hours_manage", "登记与确认会员学时和志愿服务时长"
    CRISIS_MANAGE = "assistance.crisis_manage", "应激事件登记、人员调派与热线排班"
    ASSISTANCE_SELF = "assistance.self", "会员自助：本人学时申报、接案与值班"
    ALERT_VIEW = "alert.view", "查看重点人员预警档案"
    ALERT_TAG = "alert.tag", "标记与上报重点人员"
    ALERT_MANAGE = "alert.manage", "预警定色建档、反馈、调整与结案"
    ALERT_FOLLOW_UP = "alert.follow_up", "预警周期随访登记"
    ALERT_LOWER_RED = "alert.lower_red", "下调红色预警（区级）"
    ALERT_STATS = "alert.stats", "查看预警统计"
    ALERT_CONFIGURE = "alert.configure", "维护预警规则"


# Holding any of these shows identified client data or governs security: such accounts need two
# factors when settings.TWO_FACTOR_MANDATORY is on. Client modules add their permissions here.
TWO_FACTOR_PERMS = frozenset(
    {
        Perm.CLIENT_VIEW,
        Perm.CLIENT_MANAGE,
        Perm.CLIENT_UNMASK,
        Perm.EMERGENCY_ACCESS,
        Perm.NOTE_VIEW,
        Perm.CONFIDENTIALITY_OVERRIDE,
        Perm.AUDIT_VIEW,
        Perm.SECURITY_MANAGE,
        Perm.ASSESSMENT_VIEW,
        Perm.ASSESSMENT_ADMINISTER,
        Perm.HELP_IDENTITY,
        Perm.ALERT_VIEW,
    }
)

# Administrative powers: a manager may grant a role carrying one only if they hold it themselves.
# Service permissions (seeing clients, notes) are delegable: a street manager appoints counsellors.
ADMIN_PERMS = frozenset(
    {
        Perm.ORG_MANAGE,
        Perm.USER_MANAGE,
        Perm.ROLE_MANAGE,
        Perm.SECURITY_MANAGE,
        Perm.AUDIT_VIEW,
        Perm.CALENDAR_MANAGE,
        Perm.EXPORT_XLSX,
        Perm.EXPORT_CSV,
    }
)

# Holding any of these shows counselling notes: such sessions end after the shorter idle timeout.
NOTE_PERMS = frozenset({Perm.NOTE_VIEW})


def declare(permission: str):
    """Mark a view with the permission it needs, without adding any check (used by wrappers)."""

    def mark(view):
        view.xinyuan_permission = permission
        return view

    return mark


def requires(permission: str):
    """Let a view run only for users who hold ``permission`` somewhere in their active grant.

    Object-level scope is the view's job (``access_*_by_id`` answers 404 outside scope); this
    gate answers "may this user use this page at all": anonymous users go to the login page,
    users without the permission get 403.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if permission != PUBLIC:
                if not request.user.is_authenticated:
                    return redirect_to_login(request.get_full_path())
                if permission != AUTHENTICATED:
                    from apps.core.access import can

                    if not can(request.user, permission):
                        raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.xinyuan_permission = permission
        return wrapped

    return decorator


public = requires(PUBLIC)
login_only = requires(AUTHENTICATED)
