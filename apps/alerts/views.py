"""Pages of the three-colour warning: dashboard, drill-down lists, the key-person file and its acts."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import User
from apps.audit.services import log_read
from apps.core.access import access_by_id, active_grant, can, can_in_unit, scope
from apps.core.forms import report_form, run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, requires
from apps.identity.masks import mask_name
from apps.orgs.models import OrgUnit

from . import selectors, services
from .choices import WARNING_COLOURS, Colour, ControlMeasure, State
from .forms import (
    ChangeColourForm,
    ContactForm,
    ControlForm,
    FeedbackForm,
    PolicyForm,
    ReasonForm,
    ResponderForm,
    SetColourForm,
    TagForm,
)
from .models import ColourRule, Warning


def _warning(user, pk, perm):
    rows = Warning.objects.select_related("client", "unit", "centre", "counsellor", "basis_result")
    return access_by_id(rows, pk, user, perm)


def _results(user, warning):
    """The client's assessment results the user may see, newest first (choices for the colour)."""
    from apps.assessments.models import AssessmentResult

    rows = scope(AssessmentResult.objects.filter(client_id=warning.client_id), user, Perm.ASSESSMENT_VIEW)
    return list(rows.select_related("scale_version__scale").order_by("-administered_at", "-id")[:20])


def responder_choices(user, warning):
    """The "负责咨询师" choices: counsellors and psychiatrists at the client's unit or above it
    (``accounts.selectors.counsellors_over``), holding that role inside the actor's scope."""
    from apps.accounts.roles import COUNSELLING_ROLES
    from apps.accounts.selectors import counsellors_over

    grant = active_grant(user)
    if grant is None:
        return []
    people = counsellors_over(warning.unit).filter(
        assignments__role__code__in=COUNSELLING_ROLES, assignments__unit__path__startswith=grant.unit_path
    )
    return sorted(set(people), key=lambda u: (u.full_name, u.pk))


def _centre_name(user, warning) -> str:
    grant = active_grant(user)
    if grant is not None and warning.centre.path.startswith(grant.unit_path):
        return warning.centre.name
    return "区社会心理服务指导中心"


# --- dashboard and lists ----------------------------------------------------------------------------


@requires(Perm.ALERT_STATS)
def dashboard(request):
    """S-WARN: counts by colour and by child unit, new this week, overdue feedback and cycles, control flow."""
    unit = selectors.dashboard_unit(request.user, request.GET.get("unit"))
    if unit is None:
        return render(request, "alerts/dashboard.html", {"board": None})
    board = selectors.dashboard(request.user, unit)
    grant = active_grant(request.user)
    parent = None
    if unit.parent_id and unit.pk != grant.unit_id:
        parent = unit.parent_id
    drill = _drill_links(board.identified)
    context = {
        "board": board,
        "metrics": [(k, selectors.METRIC_LABELS[k]) for k in selectors.METRICS],
        "tiles": [(k, selectors.METRIC_LABELS[k], *drill(board.unit.pk, board.totals, k)) for k in selectors.METRICS],
        "rows": [
            (row, [drill(row.unit and row.unit.pk, row.cells, k) for k in selectors.METRICS]) for row in board.rows
        ],
        "parent": parent,
        "can_list": board.identified,
    }
    return render(request, "alerts/dashboard.html", context)


DRILL_FILTERS = {"red": "colour=3", "orange": "colour=2", "yellow": "colour=1"}


def _drill_links(identified: bool):
    """``(value, link to the drill-down list or "")`` for one cell; the list's address is reversed once
    per page (a district has over a hundred cells)."""
    list_url = reverse("alerts:warning-list")

    def cell(unit_pk, counts: dict, key: str) -> tuple:
        value = counts[key]
        if not (identified and unit_pk and value and key != "total"):
            return value, ""
        return value, f"{list_url}?unit={unit_pk}&{DRILL_FILTERS.get(key, f'flag={key}')}"

    return cell


@requires(Perm.ALERT_VIEW)
def warning_list(request):
    """The drill-down list: ``?unit=&colour=&flag=&mine=1&closed=1``, keyset pages."""
    unit = None
    if request.GET.get("unit"):
        unit = access_by_id(OrgUnit.objects.all(), request.GET["unit"], request.user, Perm.ALERT_VIEW)
    flag = request.GET.get("flag", "")
    colour = request.GET.get("colour", "")
    rows = selectors.warnings_list(
        request.user, unit, colour=colour, flag=flag, mine=bool(request.GET.get("mine")),
        closed=bool(request.GET.get("closed")),
    )  # fmt: skip
    page = keyset_page(rows, request, descending=True)
    context = {
        "page": page,
        "rows": [(w, mask_name(w.client.name)) for w in page],
        "unit": unit,
        "flag_label": selectors.FLAGS.get(flag, ""),
        "colour_label": Colour(int(colour)).label if colour.isdigit() and int(colour) in Colour.values else "",
        "today": services.today(),
        "can_tag": can(request.user, Perm.ALERT_TAG),
        "mine": bool(request.GET.get("mine")),
    }
    return render(request, "alerts/warning_list.html", context)


@requires(Perm.ALERT_TAG)
def tag_lookup(request):
    """Go from a client number to the tagging form (404 outside scope, like every lookup)."""
    from apps.clients.models import Client

    if not request.GET.get("client", "").strip():
        messages.error(request, "请填写来访者编号。")
        return redirect("alerts:warning-list")
    client = access_by_id(Client.objects.all(), request.GET["client"].strip(), request.user, Perm.ALERT_TAG)
    return redirect("alerts:warning-tag", client_pk=client.pk)


@requires(Perm.ALERT_TAG)
@require_http_methods(["GET", "POST"])
def warning_tag(request, client_pk):
    """S-WARN-2: a community worker tags a key person with a proposed colour and reports it."""
    from apps.clients.models import Client

    client = access_by_id(Client.objects.select_related("unit"), client_pk, request.user, Perm.ALERT_TAG)
    form = TagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        warning = run_service(
            form, lambda: services.do_tag_key_person(actor=request.user, client=client, **form.cleaned_data)
        )
        if warning:
            messages.success(request, "已标记为重点人员并上报区社会心理服务指导中心。")
            if can(request.user, Perm.ALERT_VIEW, warning):
                return redirect("alerts:warning-detail", pk=warning.pk)
            return redirect("alerts:warning-list")
    # the client's open file, when the user may see it: tagging again is refused, so point to it
    open_warning = selectors.active_warnings(request.user).filter(client=client).first()
    context = {"form": form, "client": client, "masked_name": mask_name(client.name), "open_warning": open_warning}
    return render(request, "alerts/tag.html", context)


# --- the key-person file --------------------------------------------------------------------------


@requires(Perm.ALERT_VIEW)
def warning_detail(request, pk):
    warning = _warning(request.user, pk, Perm.ALERT_VIEW)
    return _render_detail(request, warning)


def _render_detail(request, warning, contact_form=None):
    """The key-person file; ``contact_form`` re-shows a refused contact with its errors on the fields."""
    log_read(request.user, warning, purpose="查看重点人员预警档案", request=request)
    can_manage = can(request.user, Perm.ALERT_MANAGE, warning)
    can_follow = can(request.user, Perm.ALERT_FOLLOW_UP, warning)
    initial = {"version": warning.version}
    tracked = warning.state in (State.OPEN, State.CONTROL)
    results = _results(request.user, warning) if can_manage else []
    counsellors = responder_choices(request.user, warning) if can_manage else []
    day = services.today()
    context = {
        "w": warning,
        "masked_name": mask_name(warning.client.name),
        "centre_name": _centre_name(request.user, warning),
        "history": selectors.warning_detail(warning),
        "today": day,
        "overdue_feedback": tracked and not warning.feedback_sent_at and warning.feedback_due < day,
        "overdue_cycle": tracked and warning.cycle_due < day,
        "can_manage": can_manage,
        "can_follow": can_follow,
        "can_lower_red": can(request.user, Perm.ALERT_LOWER_RED, warning),
        "measure_labels": [ControlMeasure(m).label for m in warning.control_measures],
        "set_form": SetColourForm(initial=initial, results=results, counsellors=counsellors),
        "feedback_form": FeedbackForm(initial=initial),
        "contact_form": contact_form
        or ContactForm(initial={"happened_at": timezone.localtime().replace(second=0, microsecond=0)}),
        "cycle_form": FeedbackForm(initial=initial),
        "change_form": ChangeColourForm(initial=initial, results=results),
        "continue_form": ReasonForm(initial=initial),
        "control_form": ControlForm(initial=initial),
        "responder_form": ResponderForm(initial=initial, counsellors=counsellors),
        "close_form": ReasonForm(initial=initial),
        "reassessment_due": tracked and services.reassessment_due(warning, services.policy_for(warning.tenant_id)),
        "colours": WARNING_COLOURS,
        "cycle_window_start": services.cycle_window_start(warning) if tracked else None,
    }
    return render(request, "alerts/warning_detail.html", context)


def _act(request, pk, perm, form, action, success):
    """Run one service on a warning from a POSTed form, then go back to the file."""
    warning = _warning(request.user, pk, perm)
    if form.is_valid():
        run_service(form, lambda: action(warning, dict(form.cleaned_data)))
    report_form(request, form, success)
    return redirect("alerts:warning-detail", pk=warning.pk)


def _user(pk):
    return User.objects.filter(pk=pk).first() if pk else None


def _result(request, warning, pk):
    if pk in (None, ""):
        return None
    from apps.assessments.models import AssessmentResult

    result = scope(AssessmentResult.objects.filter(pk=pk), request.user, Perm.ASSESSMENT_VIEW).first()
    return result


@requires(Perm.ALERT_MANAGE)
@require_POST
def warning_set_colour(request, pk):
    warning = _warning(request.user, pk, Perm.ALERT_MANAGE)
    form = SetColourForm(
        request.POST, results=_results(request.user, warning), counsellors=responder_choices(request.user, warning)
    )
    return _act(
        request, pk, Perm.ALERT_MANAGE, form,
        lambda w, d: services.do_set_colour(
            actor=request.user, warning=w, result=_result(request, w, d["result"]), counsellor=_user(d["counsellor"]),
            colour=d["colour"], reason=d["reason"], version=d["version"],
        ),
        "已定色建档，负责咨询师已收到通知。请在期限内完成反馈。",
    )  # fmt: skip


@requires(Perm.ALERT_MANAGE)
@require_POST
def warning_feedback(request, pk):
    return _act(
        request, pk, Perm.ALERT_MANAGE, FeedbackForm(request.POST),
        lambda w, d: services.do_send_feedback(actor=request.user, warning=w, note=d["note"], version=d["version"]),
        "已反馈至街道、社区与负责咨询师。",
    )  # fmt: skip


@requires(Perm.ALERT_FOLLOW_UP)
@require_POST
def warning_contact(request, pk):
    """S-WARN-4: record a contact; a refused one is shown again with the error under its field."""
    warning = _warning(request.user, pk, Perm.ALERT_FOLLOW_UP)
    form = ContactForm(request.POST)
    if form.is_valid() and run_service(
        form, lambda: services.do_record_contact(actor=request.user, warning=warning, **form.cleaned_data)
    ):
        messages.success(request, "联系记录已登记。")
        return redirect("alerts:warning-detail", pk=warning.pk)
    return _render_detail(request, warning, contact_form=form)


@requires(Perm.ALERT_FOLLOW_UP)
@require_POST
def warning_complete_cycle(request, pk):
    return _act(
        request, pk, Perm.ALERT_FOLLOW_UP, FeedbackForm(request.POST),
        lambda w, d: services.do_complete_cycle(actor=request.user, warning=w, version=d["version"]),
        "本周期已完成，下一周期已开始。",
    )  # fmt: skip


@requires(Perm.ALERT_MANAGE)
@require_POST
def warning_change_colour(request, pk):
    warning = _warning(request.user, pk, Perm.ALERT_MANAGE)
    form = ChangeColourForm(request.POST, results=_results(request.user, warning))
    return _act(
        request, pk, Perm.ALERT_MANAGE, form,
        lambda w, d: services.do_change_colour(
            actor=request.user, warning=w, colour=d["colour"], reason=d["reason"],
            result=_result(request, w, d["result"]), version=d["version"],
        ),
        "预警颜色已调整，负责咨询师已收到通知。",
    )  # fmt: skip


@requires(Perm.ALERT_MANAGE)
@require_POST
def warning_continue(request, pk):
    return _act(
        request, pk, Perm.ALERT_MANAGE, ReasonForm(request.POST),
        lambda w, d: services.do_continue_tracking(actor=request.user, warning=w, **d),
        "已维持原颜色，开始新一轮跟踪。",
    )  # fmt: skip


@requires(Perm.ALERT_MANAGE)
@require_POST
def warning_control(request, pk):
    return _act(
        request, pk, Perm.ALERT_MANAGE, ControlForm(request.POST),
        lambda w, d: services.do_enter_control(actor=request.user, warning=w, **d),
        "已转入管控流程。",
    )  # fmt: skip


@requires(Perm.ALERT_MANAGE)
@require_POST
def warning_responder(request, pk):
    warning = _warning(request.user, pk, Perm.ALERT_MANAGE)
    form = ResponderForm(request.POST, counsellors=responder_choices(request.user, warning))
    return _act(
        request, pk, Perm.ALERT_MANAGE, form,
        lambda w, d: services.do_assign_responder(
            actor=request.user, warning=w, counsellor=_user(d["counsellor"]), reason=d["reason"], version=d["version"]
        ),
        "负责咨询师已更换。",
    )  # fmt: skip


@requires(Perm.ALERT_MANAGE)
@require_POST
def warning_close(request, pk):
    return _act(
        request, pk, Perm.ALERT_MANAGE, ReasonForm(request.POST),
        lambda w, d: services.do_close(actor=request.user, warning=w, **d),
        "预警已结案。",
    )  # fmt: skip


# --- configuration (S-WARN-6) ------------------------------------------------------------------------


@requires(Perm.ALERT_CONFIGURE)
@require_http_methods(["GET", "POST"])
def policy(request):
    """The tenant's cycle lengths, deadlines, "essentially unchanged" and band → colour rules."""
    grant = active_grant(request.user)
    unit = OrgUnit.objects.select_related("tenant").get(pk=grant.unit_id)
    tenant = unit.tenant or unit
    can_edit = can_in_unit(request.user, Perm.ALERT_CONFIGURE, tenant)
    current = services.policy_for(tenant.pk)
    rules = ColourRule.objects.filter(tenant=tenant).order_by("scale_code", "band_level")
    initial = {name: getattr(current, name) for name in PolicyForm.base_fields if name != "rules"}
    initial["rules"] = "\n".join(f"{r.scale_code},{r.band_level},{r.colour}" for r in rules)
    form = PolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and can_edit and form.is_valid():
        data = dict(form.cleaned_data)
        rule_rows = data.pop("rules")
        if run_service(
            form, lambda: services.do_update_policy(actor=request.user, tenant=tenant, data=data, rules=rule_rows)
        ):
            messages.success(request, "预警规则已保存。")
            return redirect("alerts:policy")
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "alerts/policy.html", {"form": form, "can_edit": can_edit})
