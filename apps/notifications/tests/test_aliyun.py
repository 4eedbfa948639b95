"""The Aliyun SMS adapter: signature v1 by hand, real HTTP to a local test double (X-7)."""

import base64
import datetime
import hashlib
import hmac
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.notifications import services
from apps.notifications.backends import AliyunSmsBackend, SmsError, SmsMessage, canonical_query, sign, string_to_sign
from apps.notifications.checks import check_sms_backend
from apps.notifications.models import Delivery

KEY_ID, SECRET = "testKeyId", "testKeySecret"

# The worked example of Aliyun's SMS API documentation ("签名机制" of dysmsapi SendSms):
# AccessKeyId testId, AccessKeySecret testSecret and these parameters sign to zJDF+Lrzhj/ThnlvIToysFRq6t4=.
DOC_PARAMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
DOC_SORTED_QUERY = (
    "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou"
    "&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8"
    "&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0"
    "&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z"
    "&Version=2017-05-25"
)
DOC_SIGNATURE = "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def independent_signature(params: dict, secret: str) -> str:
    """The test double's own signer, written the way Aliyun's Java sample does it (not our code)."""

    def encode(value):
        return (
            urllib.parse.quote_plus(value, encoding="utf-8").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")
        )

    query = "&".join(encode(k) + "=" + encode(params[k]) for k in sorted(params))
    to_sign = "GET&" + encode("/") + "&" + encode(query)
    return base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class AliyunDouble(BaseHTTPRequestHandler):
    """Answers like dysmsapi: checks the signature, then OK or an error chosen by phone number."""

    def do_GET(self):
        query = urllib.parse.urlsplit(self.path).query
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        self.server.received.append(params)
        signature = params.pop("Signature", "")
        phone = params.get("PhoneNumbers", "")
        if signature != independent_signature(params, SECRET):
            status, answer = 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}
        elif phone == "13900000001":
            status, answer = 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}
        elif phone == "13900000002":
            status, answer = 500, None
        elif phone == "13900000003":
            status, answer = 200, {"Code": "isp.SYSTEM_ERROR", "Message": "系统错误"}
        else:
            status, answer = 200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "R1"}
        body = json.dumps(answer, ensure_ascii=False).encode() if answer else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def aliyun_double():
    server = ThreadingHTTPServer(("127.0.0.1", 0), AliyunDouble)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def aliyun_settings(settings, aliyun_double):
    settings.NOTIFY_SMS_BACKEND = "apps.notifications.backends.AliyunSmsBackend"
    settings.NOTIFY_ALIYUN_ACCESS_KEY_ID = KEY_ID
    settings.NOTIFY_ALIYUN_ACCESS_KEY_SECRET = SECRET
    settings.NOTIFY_ALIYUN_SIGN_NAME = "心援平台"
    settings.NOTIFY_ALIYUN_ENDPOINT = f"http://127.0.0.1:{aliyun_double.server_port}/"
    settings.NOTIFY_ALIYUN_TEMPLATE_CODES = {"appointment_reminder": "SMS_100001", "generic": "SMS_100002"}
    settings.NOTIFY_SMS_TIMEOUT = 5
    return settings


def test_signature_matches_the_documented_example():
    """X-7: our canonical query and HMAC-SHA1 signature reproduce Aliyun's documented example."""
    assert canonical_query(DOC_PARAMS) == DOC_SORTED_QUERY
    assert string_to_sign(DOC_PARAMS).startswith("GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms")
    assert sign(DOC_PARAMS, "testSecret") == DOC_SIGNATURE
    assert independent_signature(DOC_PARAMS, "testSecret") == DOC_SIGNATURE


def test_percent_encoding_rules():
    """X-7: space is %20 (not +), * is %2A, ~ stays, UTF-8 for Chinese."""
    assert canonical_query({"b": "a b*c~d", "a": "心"}) == "a=%E5%BF%83&b=a%20b%2Ac~d"


def test_request_parameters_are_deterministic(aliyun_settings):
    """X-7: with a fixed nonce and time the signed request is exactly the same every time."""
    backend = AliyunSmsBackend()
    message = SmsMessage(phone="13800000000", text="…", template="generic", params={"title": "系统维护"})
    params = backend.build_params(message, nonce="n-1", timestamp="2026-03-09T06:30:00Z")
    assert params == {
        "AccessKeyId": KEY_ID,
        "Action": "SendSms",
        "Format": "JSON",
        "PhoneNumbers": "13800000000",
        "RegionId": "cn-hangzhou",
        "SignName": "心援平台",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "n-1",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_100002",
        "TemplateParam": '{"title":"系统维护"}',
        "Timestamp": "2026-03-09T06:30:00Z",
        "Version": "2017-05-25",
        "Signature": params["Signature"],
    }
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    assert params["Signature"] == independent_signature(unsigned, SECRET)
    again = backend.build_params(message, nonce="n-1", timestamp="2026-03-09T06:30:00Z")
    assert again["Signature"] == params["Signature"]
    url = backend.request_url(params)
    assert url.startswith(aliyun_settings.NOTIFY_ALIYUN_ENDPOINT + "?Signature=")
    assert "SignName=%E5%BF%83%E6%8F%B4%E5%B9%B3%E5%8F%B0" in url


def test_send_through_the_local_double(aliyun_settings, aliyun_double):
    """X-7: a real HTTP request reaches the double, whose own signature check accepts it."""
    ref = AliyunSmsBackend().send(SmsMessage(phone="13800000000", text="x", template="generic", params={"title": "甲"}))
    assert ref == "900619746936498440^0"
    [received] = aliyun_double.received
    assert received["Action"] == "SendSms" and received["PhoneNumbers"] == "13800000000"
    assert json.loads(received["TemplateParam"]) == {"title": "甲"}


@pytest.mark.parametrize(
    ("phone", "retryable", "text"),
    [
        ("13900000001", False, "isv.MOBILE_NUMBER_ILLEGAL"),
        ("13900000002", True, "HTTP 500"),
        ("13900000003", True, "isp."),
    ],
)
def test_provider_errors(aliyun_settings, aliyun_double, phone, retryable, text):
    """X-7: provider errors become SmsError; our mistakes are final, the provider's are retried."""
    with pytest.raises(SmsError, match=text) as error:
        AliyunSmsBackend().send(SmsMessage(phone=phone, text="x", template="generic", params={"title": "甲"}))
    assert error.value.retryable is retryable


def test_wrong_secret_is_refused_by_the_double(aliyun_settings, aliyun_double):
    """X-7: a request signed with the wrong secret is refused, so the double really checks signatures."""
    backend = AliyunSmsBackend(access_key_secret="wrong")
    with pytest.raises(SmsError, match="SignatureDoesNotMatch") as error:
        backend.send(SmsMessage(phone="13800000000", text="x", template="generic", params={"title": "甲"}))
    assert error.value.retryable is False


def test_unreachable_endpoint_is_retryable(aliyun_settings):
    """X-7: a connection failure is worth another attempt."""
    backend = AliyunSmsBackend(endpoint="http://127.0.0.1:9/")
    with pytest.raises(SmsError, match="无法连接") as error:
        backend.send(SmsMessage(phone="13800000000", text="x", template="generic", params={"title": "甲"}))
    assert error.value.retryable is True


def test_notify_user_sends_through_aliyun(aliyun_settings, aliyun_double, alice, django_capture_on_commit_callbacks):
    """X-7: notify_user → huey task → Aliyun double; the delivery records the provider's BizId."""
    with django_capture_on_commit_callbacks(execute=True):
        note = services.notify_user(
            user=alice,
            template="appointment_reminder",
            context={"start": datetime.datetime(2026, 3, 9, 6, 30, tzinfo=datetime.UTC)},
            channels=("inapp", "sms"),
        )
    sms = Delivery.objects.get(notification=note, channel="sms")
    assert sms.status == "sent" and sms.provider_ref == "900619746936498440^0" and sms.attempts == 1
    [received] = aliyun_double.received
    assert received["TemplateCode"] == "SMS_100001" and received["PhoneNumbers"] == "13812345678"
    assert json.loads(received["TemplateParam"]) == {"time": "3月9日14:30", "link": f"{settings.SITE_URL}/"}


def test_unmapped_template_fails_without_a_request(
    aliyun_settings, aliyun_double, alice, django_capture_on_commit_callbacks
):
    """X-7: a template with no Aliyun code fails once with a clear reason and sends no request."""
    aliyun_settings.NOTIFY_ALIYUN_TEMPLATE_CODES = {}
    with django_capture_on_commit_callbacks(execute=True):
        note = services.notify_user(user=alice, template="generic", context={"title": "甲"}, channels=("sms",))
    sms = Delivery.objects.get(notification=note, channel="sms")
    assert sms.status == "failed" and sms.attempts == 1 and "NOTIFY_ALIYUN_TEMPLATE_CODES" in sms.error
    assert aliyun_double.received == []


def test_missing_configuration_is_reported(settings):
    """X-7: choosing Aliyun without keys fails loudly, at start-up check and in the backend."""
    settings.NOTIFY_SMS_BACKEND = "apps.notifications.backends.AliyunSmsBackend"
    settings.NOTIFY_ALIYUN_ACCESS_KEY_ID = ""
    with pytest.raises(ImproperlyConfigured):
        AliyunSmsBackend()
    assert [e.id for e in check_sms_backend()] == ["notifications.E002"]
    settings.NOTIFY_SMS_BACKEND = "apps.notifications.backends.NoSuchBackend"
    assert [e.id for e in check_sms_backend()] == ["notifications.E001"]


def test_configuration_check_warns_about_unmapped_templates(aliyun_settings):
    """X-7: the check lists notification templates that have no Aliyun template code."""
    [warning] = check_sms_backend()
    assert warning.id == "notifications.W001" and "home_visit_due" in warning.msg
