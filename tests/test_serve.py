"""``make run`` serves what a user would see (issue 12 item 5): DEBUG off, the product's own Chinese error pages,
a favicon. Starts the real ``bin/serve`` (gunicorn and the huey worker) on a free loopback port."""

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str, dict]:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=10) as response:  # noqa: S310 - loopback only
            return response.status, response.read().decode("utf-8", "replace"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace"), dict(error.headers)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """bin/serve with a private, empty var directory: pages that need tables fail, and must fail in Chinese."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL")},
        "XINYUAN_VAR_DIR": str(tmp_path_factory.mktemp("var")),
        "PORT": str(port),
        "WEB_WORKERS": "1",
        "WEB_THREADS": "2",
    }
    process = subprocess.Popen(
        ["bin/serve"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("bin/serve did not answer /healthz within 60 s")
            time.sleep(0.3)
        yield base
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=20)


def test_serve_shows_the_products_chinese_404_not_djangos_page(served):
    """X-1, issue 12 item 5: an unknown address (a mistyped number in a path) shows the product's 404 page."""
    status, body, _ = _get(f"{served}/clients/12x34/")
    assert status == 404
    assert "页面不存在" in body or "找不到" in body
    assert "Using the URLconf" not in body and "DEBUG = True" not in body


def test_serve_shows_the_products_500_page_without_a_traceback(served):
    """X-1, issue 12 item 5: a server error (here: tables never migrated) shows the Chinese 500 page, no traceback."""
    status, body, _ = _get(f"{served}/book/")
    assert status == 500
    assert "系统出错" in body
    assert "Traceback" not in body and "OperationalError" not in body


def test_serve_has_a_favicon(served):
    """Issue 12 item 5: /favicon.ico leads to the icon, and the SVG icon is served."""
    status, _, headers = _get(f"{served}/favicon.ico")
    assert status == 301
    icon = headers["Location"]
    assert icon.endswith("favicon.ico")
    assert _get(f"{served}{icon}")[0] == 200
    status, body, headers = _get(f"{served}/static/favicon.svg")
    assert status == 200 and "<svg" in body
