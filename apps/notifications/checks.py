"""``manage.py check`` tells an operator when the chosen SMS backend cannot work."""

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


@register()
def check_sms_backend(app_configs=None, **kwargs):
    path = settings.NOTIFY_SMS_BACKEND
    try:
        backend_class = import_string(path)
    except ImportError:
        return [Error(f"NOTIFY_SMS_BACKEND {path!r} cannot be imported.", id="notifications.E001")]
    from .backends import AliyunSmsBackend
    from .catalog import all_templates

    if not issubclass(backend_class, AliyunSmsBackend):
        return []
    try:
        backend_class()
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint="Set NOTIFY_ALIYUN_ACCESS_KEY_ID, NOTIFY_ALIYUN_ACCESS_KEY_SECRET and NOTIFY_ALIYUN_SIGN_NAME.",
                id="notifications.E002",
            )
        ]
    unmapped = [t.code for t in all_templates() if t.code not in settings.NOTIFY_ALIYUN_TEMPLATE_CODES]
    if unmapped:
        return [
            Warning(
                f"No Aliyun template code for: {', '.join(unmapped)}; SMS of these kinds will fail.",
                hint="Add code=SMS_xxx pairs to NOTIFY_ALIYUN_TEMPLATE_CODES.",
                id="notifications.W001",
            )
        ]
    return []
