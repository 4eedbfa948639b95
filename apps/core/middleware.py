from django.conf import settings


class SecurityHeadersMiddleware:
    """Add the Content-Security-Policy (no inline scripts, nothing from other origins)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.CSP and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.CSP
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response
