"""Full addresses for links that leave the browser (SMS, e-mail, printed QR codes).

A phone has no "current site": a text that says only "/membership/status/" points nowhere. Every
such link is ``settings.SITE_URL`` + the path.
"""

from django.conf import settings


def absolute_url(path: str = "/") -> str:
    """``path`` on this site as a full address; a path that is already absolute is returned unchanged."""
    path = path or "/"
    if path.startswith(("http://", "https://")):
        return path
    if not path.startswith("/"):
        path = "/" + path
    return f"{settings.SITE_URL}{path}"
