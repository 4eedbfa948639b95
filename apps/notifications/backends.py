"""SMS backends, chosen by ``settings.NOTIFY_SMS_BACKEND`` (a dotted class path).

A backend has one method, ``send(message) -> str``: it returns the provider's reference for the
message, or raises ``SmsError``. ``SmsError.retryable`` says whether trying again later may help
(network trouble, provider busy) or not (bad number, template not configured).

- ``ConsoleSmsBackend`` (development default): prints the message, masked; for development.
- ``FileSmsBackend``: appends one JSON line per message, masked, to ``NOTIFY_SMS_FILE_PATH`` (var/sms.log).
- ``MemorySmsBackend``: keeps each message whole in ``sms_outbox`` (this process only), for tests
  that must read what was sent (a one-time code); never allowed in production.
- ``AliyunSmsBackend``: Aliyun SMS (dysmsapi ``SendSms``), signed by hand (signature v1,
  HMAC-SHA1) and sent with ``urllib.request``; no SDK.

The console and file backends leave the message on the server (a log, a file), so they write the
number masked (138****5678) and every run of six or more digits in the text and parameters masked
(ID numbers, phones, one-time codes, references). Production refuses them unless the operator
chooses them explicitly with ``NOTIFY_SMS_ALLOW_LOCAL_BACKEND`` (issue 14 item 6).
"""

import base64
import hashlib
import hmac
import json
import re
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

# The backends that keep the message on this server instead of sending it.
LOCAL_SMS_BACKENDS = (
    "apps.notifications.backends.ConsoleSmsBackend",
    "apps.notifications.backends.FileSmsBackend",
)
TEST_SMS_BACKENDS = ("apps.notifications.backends.MemorySmsBackend",)
LONG_DIGITS = re.compile(r"\d{6,}[XxＸｘ]?")


def mask_digits(text) -> str:
    """Mask every run of six or more digits (an ID number's final X included): 3 + 4 kept from 11 on."""

    def masked(match: re.Match) -> str:
        run = match.group(0)
        if len(run) < 11:
            return "*" * len(run)
        return run[:3] + "*" * (len(run) - 7) + run[-4:]

    return LONG_DIGITS.sub(masked, str(text or ""))  # \d is Unicode: full-width digits are masked too


def mask_phone(phone) -> str:
    """The number as a local backend may write it: 13812345678 → 138****5678."""
    from apps.identity.masks import mask_mobile  # not at import time: settings.py imports this module

    try:
        return mask_mobile(phone) or ""
    except Exception:  # noqa: BLE001 - whatever the input, never write it unmasked
        return mask_digits(phone)


@dataclass(frozen=True)
class SmsMessage:
    """One SMS: the number, our template code, the rendered text and the provider variables."""

    phone: str
    text: str
    template: str = ""
    params: dict[str, str] = field(default_factory=dict)


class SmsError(Exception):
    """Sending failed; ``retryable`` is False when another attempt cannot succeed."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class BaseSmsBackend:
    def send(self, message: SmsMessage) -> str:
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Write each message, masked, to standard output (or ``stream``)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, message: SmsMessage) -> str:
        ref = f"console-{uuid.uuid4().hex[:12]}"
        phone, text = mask_phone(message.phone), mask_digits(message.text)
        self.stream.write(f"[短信] {phone} {text} ({message.template} {ref})\n")
        self.stream.flush()
        return ref


class FileSmsBackend(BaseSmsBackend):
    """Append one JSON line per message, masked, to a file, for test systems and acceptance runs."""

    _lock = threading.Lock()

    def __init__(self, path=None):
        self.path = Path(path or settings.NOTIFY_SMS_FILE_PATH)

    def send(self, message: SmsMessage) -> str:
        ref = f"file-{uuid.uuid4().hex[:12]}"
        line = json.dumps(
            {
                "time": timezone.now().isoformat(),
                "ref": ref,
                "phone": mask_phone(message.phone),
                "template": message.template,
                "text": mask_digits(message.text),
                "params": {key: mask_digits(value) for key, value in message.params.items()},
            },
            ensure_ascii=False,
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError as exc:
            raise SmsError(f"无法写入短信日志文件 {self.path}：{exc}") from exc
        return ref


# What MemorySmsBackend sent, whole, in this process; tests read and clear it (like mail.outbox).
sms_outbox: list[SmsMessage] = []


class MemorySmsBackend(BaseSmsBackend):
    """Keep each message whole in ``sms_outbox``; for tests only, refused in production."""

    def send(self, message: SmsMessage) -> str:
        sms_outbox.append(message)
        return f"memory-{uuid.uuid4().hex[:12]}"


def _backend_class(path: str):
    """The class ``path`` names when it is one of this module's (settings.py cannot import others yet)."""
    module, _dot, name = path.rpartition(".")
    candidate = globals().get(name) if module == __name__ else None
    return candidate if isinstance(candidate, type) and issubclass(candidate, BaseSmsBackend) else None


def _backend_kind(path: str, backend_class) -> str:
    """ "test", "local" (console, file and their subclasses) or "" for a backend that really sends."""
    backend_class = backend_class or _backend_class(path)
    if backend_class is not None:
        if issubclass(backend_class, MemorySmsBackend):
            return "test"
        return "local" if issubclass(backend_class, (ConsoleSmsBackend, FileSmsBackend)) else ""
    if path in TEST_SMS_BACKENDS:
        return "test"
    return "local" if path in LOCAL_SMS_BACKENDS else ""


def check_sms_backend_allowed(path: str, *, production: bool, allow_local: bool, backend_class=None) -> None:
    """Refuse, in production, a backend that never sends: the test backend always, the console and
    file backends (and subclasses, known once ``backend_class`` is imported) unless
    ``NOTIFY_SMS_ALLOW_LOCAL_BACKEND`` chose them explicitly."""
    if not production:
        return
    kind = _backend_kind(path, backend_class)
    if kind == "test":
        raise ImproperlyConfigured(
            f"生产模式不得使用测试短信后端 {path}（the test SMS backend is refused in production）"
        )
    if kind == "local" and not allow_local:
        raise ImproperlyConfigured(
            f"生产模式不发送短信的后端 {path} 须显式设置 NOTIFY_SMS_ALLOW_LOCAL_BACKEND=1 才能使用，"
            "正式运行请配置阿里云短信，见 docs/notifications.md"
            f"（production refuses {path} unless NOTIFY_SMS_ALLOW_LOCAL_BACKEND=1）"
        )


def percent_encode(value: str) -> str:
    """Aliyun's POP encoding: RFC 3986, UTF-8, space as %20, only A-Z a-z 0-9 - _ . ~ kept."""
    return urllib.parse.quote(str(value), safe="~")


def canonical_query(params: dict[str, str]) -> str:
    """The parameters sorted by name and percent-encoded, joined with "&" (signature v1)."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def string_to_sign(params: dict[str, str], method: str = "GET") -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def sign(params: dict[str, str], secret: str, method: str = "GET") -> str:
    """Signature v1: Base64(HMAC-SHA1(secret + "&", StringToSign))."""
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(params, method).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Aliyun error codes that another attempt will not fix are "isv.*" (our side: number, template,
# signature); "isp.*" and transport errors are the provider's and worth retrying.
RETRYABLE_ALIYUN_CODES = {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling"}


class AliyunSmsBackend(BaseSmsBackend):
    """Aliyun SMS ``SendSms`` (API version 2017-05-25) over HTTPS with a hand-made v1 signature.

    Our template code maps to an Aliyun template code through ``NOTIFY_ALIYUN_TEMPLATE_CODES``;
    the template's ``sms_params`` become ``TemplateParam``.
    """

    API_VERSION = "2017-05-25"

    def __init__(self, **overrides):
        conf = {
            "access_key_id": settings.NOTIFY_ALIYUN_ACCESS_KEY_ID,
            "access_key_secret": settings.NOTIFY_ALIYUN_ACCESS_KEY_SECRET,
            "sign_name": settings.NOTIFY_ALIYUN_SIGN_NAME,
            "template_codes": settings.NOTIFY_ALIYUN_TEMPLATE_CODES,
            "endpoint": settings.NOTIFY_ALIYUN_ENDPOINT,
            "region": settings.NOTIFY_ALIYUN_REGION,
            "timeout": settings.NOTIFY_SMS_TIMEOUT,
        }
        conf.update(overrides)
        missing = [k for k in ("access_key_id", "access_key_secret", "sign_name") if not conf[k]]
        if missing:
            raise ImproperlyConfigured(f"阿里云短信缺少配置：{', '.join(missing)}")
        if urllib.parse.urlsplit(conf["endpoint"]).scheme not in {"http", "https"}:
            raise ImproperlyConfigured("NOTIFY_ALIYUN_ENDPOINT 必须是 http(s) 地址")
        self.__dict__.update(conf)

    def build_params(self, message: SmsMessage, *, nonce: str | None = None, timestamp: str | None = None) -> dict:
        """The signed request parameters for ``message`` (``nonce``/``timestamp`` fixed in tests)."""
        template_code = self.template_codes.get(message.template)
        if not template_code:
            raise SmsError(
                f"未配置通知模板“{message.template}”对应的阿里云短信模板代码（NOTIFY_ALIYUN_TEMPLATE_CODES）。",
                retryable=False,
            )
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": message.phone,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": template_code,
            "Timestamp": timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": self.API_VERSION,
        }
        if message.params:
            params["TemplateParam"] = json.dumps(message.params, ensure_ascii=False, separators=(",", ":"))
        params["Signature"] = sign(params, self.access_key_secret)
        return params

    def request_url(self, params: dict) -> str:
        signature = params["Signature"]
        rest = {k: v for k, v in params.items() if k != "Signature"}
        base = self.endpoint if self.endpoint.endswith("/") else self.endpoint + "/"
        return f"{base}?Signature={percent_encode(signature)}&{canonical_query(rest)}"

    def send(self, message: SmsMessage) -> str:
        url = self.request_url(self.build_params(message))
        request = urllib.request.Request(url, headers={"Accept": "application/json"}, method="GET")  # noqa: S310 - scheme checked in __init__
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - scheme checked in __init__
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            if not raw:
                raise SmsError(f"阿里云短信接口返回 HTTP {exc.code}。", retryable=exc.code >= 500) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsError(f"无法连接阿里云短信接口：{exc}") from exc
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise SmsError("阿里云短信接口返回了无法解析的内容。") from exc
        code = answer.get("Code", "")
        if code != "OK":
            retryable = code in RETRYABLE_ALIYUN_CODES or code.startswith("isp.") or not code
            raise SmsError(f"阿里云短信发送失败：{code} {answer.get('Message', '')}".strip(), retryable=retryable)
        return answer.get("BizId", "") or answer.get("RequestId", "")


def get_sms_backend() -> BaseSmsBackend:
    """An instance of the configured SMS backend (refused in production when it would never send)."""
    try:
        backend_class = import_string(settings.NOTIFY_SMS_BACKEND)
    except ImportError as exc:
        raise ImproperlyConfigured(f"NOTIFY_SMS_BACKEND {settings.NOTIFY_SMS_BACKEND!r} 无法导入") from exc
    check_sms_backend_allowed(
        settings.NOTIFY_SMS_BACKEND,
        production=settings.PRODUCTION,
        allow_local=getattr(settings, "NOTIFY_SMS_ALLOW_LOCAL_BACKEND", False),
        backend_class=backend_class,
    )
    return backend_class()
