from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


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


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Chinese unless the person chose English in the top bar (X-1).

    Django's LocaleMiddleware also follows the browser's Accept-Language, which turned the public
    pages of an English-set phone into a mix of Chinese text and English form errors. Only the
    language cookie written by the switcher counts here.
    """

    def process_request(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response that may carry personal data (issue 14 item 8).

    The rule is deliberately simple: every response to a logged-in request (session or API token)
    and every API response, whoever asked. Static files keep their caching; WhiteNoise answers them
    before this middleware sees the request.
    """

    STATIC_PREFIXES = ("/static/",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(self.STATIC_PREFIXES):
            return response
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            if "no-store" not in response.get("Cache-Control", ""):
                response["Cache-Control"] = "no-store"
            response.setdefault("Pragma", "no-cache")
            response.setdefault("Expires", "0")
        return response
