from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from apps.core.access import access_by_id, can
from apps.core.forms import report_form, run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, login_only, public, requires

from . import selectors, services
from .forms import AssignForm, LoginForm, PasswordForm, UserCreateForm, UserEditForm, VersionForm
from .models import Assignment, User
from .security import has_device, recent_auth_required

login_view = public(auth_views.LoginView.as_view(template_name="accounts/login.html", authentication_form=LoginForm))
logout_view = public(auth_views.LogoutView.as_view())


def _user(request, pk, perm=Perm.USER_VIEW) -> User:
    return access_by_id(User.objects.select_related("unit"), pk, request.user, perm)


@login_only
@require_POST
def switch_assignment(request):
    """Change the active unit and role from the top bar."""
    try:
        assignment = services.do_switch_assignment(
            user=request.user, session=request.session, assignment_id=request.POST.get("assignment")
        )
        messages.success(request, f"已切换到“{assignment.unit.name} · {assignment.role.name}”。")
    except ValidationError as error:
        messages.error(request, error.messages[0])
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


@login_only
@require_http_methods(["GET", "POST"])
def profile(request):
    """The user's own account: assignments, password, second factor and API token."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)
        messages.success(request, "密码已修改。")
        return redirect("accounts:profile")
    context = {
        "form": form,
        "assignments": selectors.my_assignments(request.user),
        "has_token": Token.objects.filter(user=request.user).exists(),
        "has_device": has_device(request.user),
    }
    return render(request, "accounts/profile.html", context)


@login_only
@recent_auth_required
@require_http_methods(["GET", "POST"])
def api_token(request):
    """Create or revoke the user's API token; needs the password again, the key is shown once."""
    new_token = None
    if request.method == "POST" and request.POST.get("action") == "create":
        Token.objects.filter(user=request.user).delete()
        new_token = Token.objects.create(user=request.user).key
    elif request.method == "POST" and request.POST.get("action") == "revoke":
        Token.objects.filter(user=request.user).delete()
        messages.success(request, "API 令牌已作废。")
        return redirect("accounts:profile")
    context = {"new_token": new_token, "has_token": Token.objects.filter(user=request.user).exists()}
    return render(request, "accounts/api_token.html", context)


@requires(Perm.USER_VIEW)
def user_list(request):
    filters = {k: request.GET.get(k, "").strip() for k in ("q", "status", "unit")}
    if filters["unit"] and not filters["unit"].isdigit():
        filters["unit"] = ""
    page = keyset_page(selectors.visible_users(request.user, filters), request)
    context = {
        "page": page,
        "filters": filters,
        "units": selectors.filter_units(request.user),
        "selected_unit": int(filters["unit"]) if filters["unit"] else None,
        "can_manage": can(request.user, Perm.USER_MANAGE),
    }
    return render(request, "accounts/user_list.html", context)


@requires(Perm.USER_MANAGE)
@require_http_methods(["GET", "POST"])
def user_create(request):
    form = UserCreateForm(request.POST or None, units=selectors.manageable_units(request.user))
    if request.method == "POST" and form.is_valid():
        user = run_service(form, lambda: services.do_create_user(actor=request.user, **form.cleaned_data))
        if user:
            messages.success(request, f"已创建账号“{user.username}”。请为其分配角色。")
            return redirect("accounts:user-detail", pk=user.pk)
    return render(request, "accounts/user_form.html", {"form": form, "title": "新建人员账号"})


@requires(Perm.USER_VIEW)
def user_detail(request, pk):
    subject = _user(request, pk)
    can_manage = can(request.user, Perm.USER_MANAGE, subject)
    context = {
        "subject": subject,
        "assignments": selectors.user_assignments(request.user, subject),
        "can_manage": can_manage,
        "assign_form": AssignForm(units=selectors.manageable_units(request.user)) if can_manage else None,
        "password_form": PasswordForm() if can_manage else None,
        "can_reset_2fa": can(request.user, Perm.SECURITY_MANAGE),
    }
    return render(request, "accounts/user_detail.html", context)


@requires(Perm.USER_MANAGE)
@require_http_methods(["GET", "POST"])
def user_edit(request, pk):
    subject = _user(request, pk, Perm.USER_MANAGE)
    initial = {
        "full_name": subject.full_name,
        "unit": subject.unit_id,
        "mobile": subject.mobile,
        "email": subject.email,
        "version": subject.version,
    }
    form = UserEditForm(request.POST or None, initial=initial, units=selectors.manageable_units(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = run_service(
            form,
            lambda: services.do_update_user(
                actor=request.user,
                user=subject,
                full_name=data["full_name"],
                unit=data["unit"],
                mobile=data["mobile"],
                email=data["email"],
                expected_version=data["version"],
            ),
        )
        if done:
            messages.success(request, "账号信息已保存。")
            return redirect("accounts:user-detail", pk=subject.pk)
    return render(request, "accounts/user_form.html", {"form": form, "title": f"修改账号：{subject.full_name}"})


@requires(Perm.USER_MANAGE)
@require_POST
def user_set_active(request, pk, active: bool):
    subject = _user(request, pk, Perm.USER_MANAGE)
    form = VersionForm(request.POST)
    if form.is_valid():
        run_service(
            form,
            lambda: services.do_set_active(
                actor=request.user, user=subject, active=active, expected_version=form.cleaned_data["version"]
            ),
        )
    report_form(request, form, "账号已启用。" if active else "账号已停用，其登录会话在下一次请求时结束。")
    return redirect("accounts:user-detail", pk=subject.pk)


@requires(Perm.USER_MANAGE)
@require_POST
def user_set_password(request, pk):
    subject = _user(request, pk, Perm.USER_MANAGE)
    form = PasswordForm(request.POST)
    if form.is_valid():
        run_service(
            form,
            lambda: services.do_set_password(actor=request.user, user=subject, password=form.cleaned_data["password"]),
        )
    report_form(request, form, "新密码已设置。")
    return redirect("accounts:user-detail", pk=subject.pk)


@requires(Perm.USER_MANAGE)
@require_POST
def user_assign(request, pk):
    subject = _user(request, pk, Perm.USER_MANAGE)
    form = AssignForm(request.POST, units=selectors.manageable_units(request.user))
    if form.is_valid():
        run_service(
            form,
            lambda: services.do_assign_role(
                actor=request.user, user=subject, unit=form.cleaned_data["unit"], role=form.cleaned_data["role"]
            ),
        )
    report_form(request, form, "角色已分配。")
    return redirect("accounts:user-detail", pk=subject.pk)


@requires(Perm.USER_MANAGE)
@require_POST
def assignment_revoke(request, pk):
    assignment = access_by_id(
        Assignment.objects.select_related("user", "unit", "role"), pk, request.user, Perm.USER_MANAGE
    )
    form = VersionForm({"version": 1})
    form.is_valid()
    run_service(form, lambda: services.do_revoke_assignment(actor=request.user, assignment=assignment))
    report_form(request, form, f"已撤销“{assignment.unit.name} · {assignment.role.name}”。")
    return redirect("accounts:user-detail", pk=assignment.user_id)


@requires(Perm.ROLE_VIEW)
def role_list(request):
    labels = dict(Perm.choices)
    roles = [(role, [labels.get(p, p) for p in role.permissions]) for role in selectors.all_roles()]
    return render(request, "accounts/role_list.html", {"roles": roles})
