"""End-to-end: a district administrator manages units and accounts in the browser."""

import pytest
from django.core.management import call_command

from apps.accounts.models import User

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_district_admin_manages_units_and_accounts(live_server, page_factory):
    """S-ORG-1, S-ORG-2, X-1: create a unit (bad input first), create an account, assign a role."""
    call_command("seed_demo", part="base")
    base = live_server.url
    page = page_factory()
    page.goto(f"{base}/accounts/login/")
    shot(page, "10-login")
    login(page, base, "district")

    page.click("text=组织架构")
    page.click("text=新建下级单位")
    page.select_option("select[name=kind]", "street_station")
    page.fill("input[name=name]", "湖滨街道社会心理服务站")
    page.fill("input[name=code]", "DEMO-S9")
    page.click("button:has-text('保存')")
    assert "同一上级单位下已有" in page.inner_text(".alert-danger")
    shot(page, "11-unit-create-error")
    page.fill("input[name=name]", "西溪街道社会心理服务站")
    page.click("button:has-text('保存')")
    page.wait_for_selector("text=已新建单位")
    assert page.inner_text("[data-testid=unit-name]").startswith("西溪街道社会心理服务站")

    page.click("text=人员账号")
    shot(page, "12-user-list")
    page.click("text=新建账号")
    page.fill("input[name=username]", "xixi_manager")
    page.fill("input[name=full_name]", "西溪站长")
    page.select_option("select[name=unit]", label="　西溪街道社会心理服务站")
    page.fill("input[name=password]", "Xixi-Station-2026")
    page.click("button:has-text('保存')")
    page.wait_for_selector("text=请为其分配角色")
    page.select_option("select[name=unit]", label="　西溪街道社会心理服务站")
    page.select_option("select[name=role]", label="街道负责人")
    page.click("button:has-text('分配')")
    page.wait_for_selector("text=角色已分配")
    assert "西溪街道社会心理服务站 · 街道负责人" in page.inner_text("[data-testid=assignments]")
    shot(page, "13-user-detail")
    assert User.objects.get(username="xixi_manager").assignments.count() == 1
    # S-STAFF-2 (issue 13 item 8): a community role at a street station is refused on the unit field.
    page.select_option("select[name=unit]", label="　西溪街道社会心理服务站")
    page.select_option("select[name=role]", label="社区负责人")
    page.click("button:has-text('分配')")
    feedback = page.inner_text("[data-testid=assign-form] .invalid-feedback")
    assert "“社区负责人”只能在社区社会心理服务室任职" in feedback
    assert "is-invalid" in page.get_attribute("[data-testid=assign-form] select[name=unit]", "class")
    shot(page, "13b-assign-wrong-level")
    assert User.objects.get(username="xixi_manager").assignments.count() == 1

    # the filtered list exports what it shows, after a reason; the password is shown once.
    page.goto(f"{base}/accounts/users/?status=active")
    page.click("[data-testid=export-users-xlsx]")
    assert "status=active" in page.inner_text("[data-testid=export-filters]")
    page.fill("[name=reason]", "季度人员名单报送区卫健局")
    shot(page, "16-export-request")
    page.click("button:has-text('提交导出申请')")
    assert len(page.inner_text("[data-testid=export-password]").strip()) == 16
    shot(page, "17-export-password")

    page.click("text=角色与权限")
    assert "区社会心理服务指导中心" in page.inner_text("[data-testid=role-unit-kinds] >> nth=0")
    shot(page, "14-roles")
    page.goto(f"{base}/api/docs/")
    page.wait_for_selector(".swagger-ui .information-container", timeout=20000)
    shot(page, "15-api-docs")
