from django.db import models


class AuditAction(models.TextChoices):
    """What an audit entry records."""

    LOGIN = "login", "登录"
    LOGOUT = "logout", "退出登录"
    LOGIN_FAILED = "login_failed", "登录失败"
    LOCKOUT = "lockout", "账号锁定"
    PERMISSION_DENIED = "permission_denied", "越权访问被拒绝"
    CREATE = "create", "新建"
    UPDATE = "update", "修改"
    DELETE = "delete", "删除"
    READ_SENSITIVE = "read_sensitive", "查阅敏感信息"
    EXPORT = "export", "导出"
    UNMASK = "unmask", "查看完整敏感字段"
    EMERGENCY_ACCESS = "emergency_access", "紧急授权访问"
    OTHER = "other", "其他"


class AuditOutcome(models.TextChoices):
    """How the recorded action ended."""

    SUCCESS = "success", "成功"
    DENIED = "denied", "被拒绝"
    FAILURE = "failure", "失败"


class TamperKind(models.TextChoices):
    """What ``verify_chain`` found wrong with the chain, as far as it can tell."""

    MODIFIED = "modified", "条目内容被修改"
    DELETED = "deleted", "条目被删除"
    INSERTED = "inserted", "条目被插入"
    REORDERED = "reordered", "条目顺序被调换"
    BROKEN_LINK = "broken_link", "链接断开（前一条被改写，或其间条目被删除后重新编号）"
    TRUNCATED = "truncated", "日志尾部被截断"
    REWRITTEN = "rewritten", "日志被改写（与头记录不符）"
    HEAD_UNREADABLE = "head_unreadable", "头记录文件无法读取"
    BAD_MAC = "bad_mac", "密钥签名无效（条目不是由本系统写入的）"
    UNKNOWN_KEY = "unknown_key", "签名密钥未配置或条目没有签名"
