from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.access import access_by_id, can
from apps.core.forms import report_form, run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, login_only, public, requires

from . import selectors, services
from .forms import (
    ApiTokenForm,
    AssignForm,
    GrantDecisionForm,
    GrantRequestForm,
    LoginForm,
    PasswordForm,
    UserCreateForm,
    UserEditForm,
    VersionForm,
)
from .models import ApiToken, Assignment, GrantRequest, Role, User
from .security import has_device, recent_auth_required
from .tokens import do_create_token, do_revoke_token, lifetime_days, tokens_of

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
        "token_count": sum(1 for token in tokens_of(request.user) if token.state == "active"),
        "has_device": has_device(request.user),
    }
    return render(request, "accounts/profile.html", context)


@login_only
@recent_auth_required
@require_http_methods(["GET", "POST"])
def api_token(request):
    """List, create and revoke the user's API tokens; needs the password again, a key is shown once."""
    form = ApiTokenForm(request.POST if request.POST.get("action") == "create" else None, max_days=lifetime_days())
    new_key = None
    if request.method == "POST" and request.POST.get("action") == "create" and form.is_valid():
        created = run_service(
            form,
            lambda: do_create_token(actor=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"]),
        )
        if created:
            new_key = created[1]
            form = ApiTokenForm(max_days=lifetime_days())
    elif request.method == "POST" and request.POST.get("action") == "revoke":
        token = ApiToken.objects.filter(user=request.user, pk=_int_or_none(request.POST.get("token"))).first()
        if token is None:
            messages.error(request, "未找到该令牌。")
        else:
            try:
                do_revoke_token(actor=request.user, token=token)
                messages.success(request, f"API 令牌“{token.name}”已作废。")
            except ValidationError as error:
                messages.error(request, error.messages[0])
        return redirect("accounts:api-token")
    context = {"form": form, "new_key": new_key, "tokens": tokens_of(request.user)}
    return render(request, "accounts/api_token.html", context)


def _int_or_none(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**62 else None


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


def _grant_form(request, data=None) -> GrantRequestForm:
    return GrantRequestForm(data, units=selectors.manageable_units(request.user), roles=selectors.note_reading_roles())


@requires(Perm.USER_VIEW)
def user_detail(request, pk):
    return _user_detail_page(request, _user(request, pk))


def _user_detail_page(request, subject: User, **bound_forms):
    """The account page; ``bound_forms`` replace the blank forms after a refused POST, so the service's
    error shows on its field (S-STAFF-2: a role at a unit of the wrong level)."""
    can_manage = can(request.user, Perm.USER_MANAGE, subject)
    try:  # issue 14: offer the credential forms only where the rules allow them (the services check again)
        services.check_may_administer(request.user, subject)
        may_administer = True
    except ValidationError:
        may_administer = False
    context = {
        "subject": subject,
        "assignments": selectors.user_assignments(request.user, subject),
        "can_manage": can_manage,
        "assign_form": AssignForm(units=selectors.manageable_units(request.user)) if can_manage else None,
        "password_form": PasswordForm() if can_manage and may_administer else None,
        "can_reset_2fa": can(request.user, Perm.SECURITY_MANAGE) and may_administer,
        "security_password_form": PasswordForm()
        if can(request.user, Perm.SECURITY_MANAGE, subject) and may_administer
        else None,
        "grant_form": _grant_form(request) if can_manage else None,
        "security_assign_form": _security_assign_form(request)
        if can(request.user, Perm.SECURITY_MANAGE, subject) and subject.pk != request.user.pk
        else None,
        "governed_roles": services.SECURITY_GOVERNED_ROLES,
        "grant_requests": selectors.user_grant_requests(request.user, subject)[:20],
    }
    context.update(bound_forms)
    return render(request, "accounts/user_detail.html", context, status=400 if bound_forms else 200)


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


def _set_password(request, pk, perm):
    """Both password paths: the service decides who may administer whose credentials."""
    subject = _user(request, pk, perm)
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
def user_set_password(request, pk):
    return _set_password(request, pk, Perm.USER_MANAGE)


def _assign(request, pk, perm, form, form_name: str):
    """Both grant paths (manager, security administrator): the service applies every rule; a refusal
    shows the page again with the error on its field."""
    subject = _user(request, pk, perm)
    if form.is_valid() and run_service(
        form,
        lambda: services.do_assign_role(
            actor=request.user, user=subject, unit=form.cleaned_data["unit"], role=form.cleaned_data["role"]
        ),
    ):
        messages.success(request, "角色已分配。")
        return redirect("accounts:user-detail", pk=subject.pk)
    return _user_detail_page(request, subject, **{form_name: form})


def _revoke(request, pk, perm, assignments):
    """Both revoke paths; ``assignments`` limits what the path may reach (404 otherwise)."""
    assignment = access_by_id(assignments.select_related("user", "unit", "role"), pk, request.user, perm)
    form = VersionForm({"version": 1})
    form.is_valid()
    run_service(form, lambda: services.do_revoke_assignment(actor=request.user, assignment=assignment))
    report_form(request, form, f"已撤销“{assignment.unit.name} · {assignment.role.name}”。")
    return redirect("accounts:user-detail", pk=assignment.user_id)


@requires(Perm.USER_MANAGE)
@require_POST
def user_assign(request, pk):
    form = AssignForm(request.POST, units=selectors.manageable_units(request.user))
    return _assign(request, pk, Perm.USER_MANAGE, form, "assign_form")


@requires(Perm.USER_MANAGE)
@require_POST
def assignment_revoke(request, pk):
    return _revoke(request, pk, Perm.USER_MANAGE, Assignment.objects.all())


def _security_assign_form(request, data=None) -> AssignForm:
    """The security administrator's form: only the security and audit administrator roles (three-admin rule)."""
    governed = Role.objects.filter(code__in=services.SECURITY_GOVERNED_ROLES).order_by("id")
    return AssignForm(data, units=selectors.security_units(request.user), roles=governed)


@requires(Perm.SECURITY_MANAGE)
@require_POST
def user_security_assign(request, pk):
    """The security administrator appoints a security or audit administrator (nobody else may, issue 14)."""
    return _assign(
        request, pk, Perm.SECURITY_MANAGE, _security_assign_form(request, request.POST), "security_assign_form"
    )


@requires(Perm.SECURITY_MANAGE)
@require_POST
def assignment_security_revoke(request, pk):
    """The security administrator removes a security or audit administrator role."""
    governed = Assignment.objects.filter(role__code__in=services.SECURITY_GOVERNED_ROLES)
    return _revoke(request, pk, Perm.SECURITY_MANAGE, governed)


@requires(Perm.ROLE_VIEW)
def role_list(request):
    labels = dict(Perm.choices)
    roles = [(role, [labels.get(p, p) for p in role.permissions]) for role in selectors.all_roles()]
    return render(request, "accounts/role_list.html", {"roles": roles})


@requires(Perm.SECURITY_MANAGE)
@require_POST
def user_security_password(request, pk):
    """The security administrator sets a password (e.g. for a security or audit administrator)."""
    return _set_password(request, pk, Perm.SECURITY_MANAGE)


@requires(Perm.USER_MANAGE)
@require_POST
def grant_request_create(request, pk):
    """The unit manager asks for a role that reads counselling notes (two-person rule)."""
    subject = _user(request, pk, Perm.USER_MANAGE)
    form = _grant_form(request, request.POST)
    if form.is_valid() and run_service(
        form,
        lambda: services.do_request_grant(
            actor=request.user,
            user=subject,
            unit=form.cleaned_data["unit"],
            role=form.cleaned_data["role"],
            reason=form.cleaned_data["reason"],
        ),
    ):
        messages.success(request, "授予申请已提交，待安全管理员审批后生效。")
        return redirect("accounts:user-detail", pk=subject.pk)
    return _user_detail_page(request, subject, grant_form=form)


@requires(Perm.SECURITY_MANAGE)
def grant_request_list(request):
    """Pending grant requests for the security administrator, and the latest decisions."""
    context = {
        "pending": selectors.grant_requests_to_review(request.user),
        "decided": selectors.recent_grant_decisions(request.user),
        "form": GrantDecisionForm(),
    }
    return render(request, "accounts/grant_request_list.html", context)


@requires(Perm.SECURITY_MANAGE)
@require_POST
def grant_request_decide(request, pk):
    grant_request = access_by_id(
        GrantRequest.objects.select_related("user", "unit", "role"), pk, request.user, Perm.SECURITY_MANAGE
    )
    form = GrantDecisionForm(request.POST)
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        run_service(
            form,
            lambda: services.do_decide_grant_request(
                actor=request.user, grant_request=grant_request, approve=approve, reason=form.cleaned_data["reason"]
            ),
        )
        success = "已批准，角色已生效。" if approve else "已拒绝该申请。"
    else:
        success = ""
    report_form(request, form, success)
    return redirect("accounts:grant-request-list")
