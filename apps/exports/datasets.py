"""Built-in exportable lists: staff accounts and org units of the requester's scope."""

from apps.accounts.selectors import visible_users
from apps.core.perms import Perm
from apps.orgs.selectors import visible_units

from .registry import Dataset, register


def _user_rows(user, filters):
    rows = visible_users(user, filters).order_by("id")
    for u in rows.values_list("username", "full_name", "unit__name", "mobile", "email", "is_active").iterator(
        chunk_size=2000
    ):
        yield (*u[:5], "启用" if u[5] else "已停用")


def _unit_rows(user, filters):
    rows = visible_units(user).order_by("path")
    for code, name, kind, level, depth, active in rows.values_list(
        "code", "name", "kind", "level", "depth", "is_active"
    ).iterator(chunk_size=2000):
        yield (code, name, kind, level, depth, "启用" if active else "已停用")


register(
    Dataset(
        key="users",
        label="人员账号",
        view_permission=Perm.USER_VIEW,
        columns=("登录名", "姓名", "所属单位", "手机号码", "电子邮箱", "状态"),
        rows=_user_rows,
    )
)
register(
    Dataset(
        key="org_units",
        label="组织单位",
        view_permission=Perm.ORG_VIEW,
        columns=("单位编码", "单位名称", "单位类型", "评估等级", "层级", "状态"),
        rows=_unit_rows,
    )
)
