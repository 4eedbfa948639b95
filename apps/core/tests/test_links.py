"""Links that leave the browser carry the full address (issue 13 item 10)."""

from apps.core.links import absolute_url
from tests.production_env import production_env
from tests.test_commands import settings_import


def test_absolute_url_joins_site_url_and_path(settings):
    """X-7: SMS and e-mail point to SITE_URL + path; an absolute address is left alone."""
    settings.SITE_URL = "https://xinyuan.example.gov.cn"
    assert absolute_url("/membership/status/") == "https://xinyuan.example.gov.cn/membership/status/"
    assert absolute_url("membership/status/") == "https://xinyuan.example.gov.cn/membership/status/"
    assert absolute_url("") == "https://xinyuan.example.gov.cn/"
    assert absolute_url("https://other.example/x") == "https://other.example/x"


def test_production_needs_an_https_site_url(tmp_path):
    """X-7: production does not start without SITE_URL, nor with a plain-http or malformed one; the former name
    NOTIFY_SITE_URL is still read."""
    env = production_env(tmp_path)
    del env["SITE_URL"]
    missing = settings_import(env)
    assert missing.returncode != 0 and "SITE_URL" in missing.stderr
    plain = settings_import({**env, "SITE_URL": "http://xinyuan.example.gov.cn"})
    assert plain.returncode != 0 and "https://" in plain.stderr
    bad = settings_import({**env, "SITE_URL": "https://xinyuan example"})
    assert bad.returncode != 0 and "SITE_URL" in bad.stderr
    old_name = settings_import({**env, "NOTIFY_SITE_URL": "https://xinyuan.example.gov.cn/"})
    assert old_name.returncode == 0, old_name.stderr
    assert settings_import({**env, "SITE_URL": "https://xinyuan.example.gov.cn"}).returncode == 0
