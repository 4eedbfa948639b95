"""Pages of the membership module: thin — parse, one access helper, one service or selector, render."""

import datetime as dt
from functools import wraps

from django.contrib import messages
from django.core.cache import cache
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.audit.services import client_ip, log_read
from apps.clients.choices import Education, PoliticalStatus
from apps.core.access import access_by_id, can, scope
from apps.core.forms import report_form, run_service
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, login_only, public, requires
from apps.core.scoping import unscoped
from apps.identity.masks import mask_id, mask_mobile
from apps.notifications.selectors import contact_notifications
from apps.orgs.choices import UnitKind
from apps.orgs.models import OrgUnit

from . import forms, notices, selectors, services
from .choices import ApplicationStatus, BodyKind, ComplaintStatus, MemberStatus, Tier, VoteResult
from .models import (
    Application,
    Body,
    Certificate,
    CommitteeMembership,
    DuesPayment,
    EthicsComplaint,
    Member,
    Position,
)
from .pdf import CARD_TIER, membership_card_pdf
from .storage import content_type_of

APPLY_LIMIT = (5, 3600)  # accepted submissions per IP per hour
APPLY_FAILED_LIMIT = (60, 3600)  # refused submissions (typos being fixed) per IP per hour
STATUS_LIMIT = (20, 600)  # status look-ups per IP per 10 minutes


def _rate_key(request, bucket: str) -> str:
    return f"membership:{bucket}:{client_ip(request) or 'unknown'}"


def _rate_used(request, bucket: str) -> int:
    """How much of a fixed window ``bucket`` this client IP has used (without counting this request)."""
    return cache.get(_rate_key(request, bucket)) or 0


def _rate_limited(request, bucket: str, limit: tuple[int, int]) -> bool:
    """A fixed-window counter per client IP in the cache (Redis in production)."""
    count, window = limit
    key = _rate_key(request, bucket)
    cache.add(key, 0, window)
    try:
        used = cache.incr(key)
    except ValueError:
        cache.set(key, 1, window)
        used = 1
    return used > count


def _year(request) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        return selectors.today().year
    return year if 2000 <= year <= 2100 else selectors.today().year


def _association(request, perm: str) -> OrgUnit | None:
    """The association the page is about: ``?association=`` among those the user holds ``perm`` in."""
    options = list(selectors.associations_for(request.user, perm))
    wanted = request.GET.get("association") or request.POST.get("association")
    chosen = next((a for a in options if str(a.pk) == wanted), None)
    return chosen or (options[0] if options else None)


def _stream(file_field, *, download_name: str):
    """Send a private file (at most a few MB: photos and scans are size-limited on upload)."""
    if not file_field:
        raise Http404
    try:
        with file_field.open("rb") as handle:
            data = handle.read()
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = HttpResponse(data, content_type=content_type_of(file_field.name))
    response["Content-Disposition"] = f'inline; filename="{download_name}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- public pages -----------------------------------------------------------------------------------------


@public
def apply_start(request):
    """H-MEM-1: pick the association to apply to."""
    associations = OrgUnit.objects.filter(kind=UnitKind.ASSOCIATION, is_active=True, parent__isnull=True)
    return render(request, "membership/public_apply_start.html", {"associations": associations.order_by("name")})


@public
@require_http_methods(["GET", "POST"])
def apply(request, association_id):
    """H-MEM-1: read the charter, fill the registration form, add certificates and a photo (CSRF + rate limit)."""
    association = OrgUnit.objects.filter(
        pk=association_id, kind=UnitKind.ASSOCIATION, is_active=True, parent__isnull=True
    ).first()
    if association is None:
        raise Http404
    committees = selectors.committees_of(association)
    form = forms.ApplicationForm(request.POST or None, request.FILES or None, committees=committees)
    if request.method == "POST":
        # Only accepted applications count against the 5-an-hour limit; refused ones (a person fixing
        # typos) have their own, much higher limit, so scripted floods are still stopped.
        if (
            _rate_used(request, "apply") >= APPLY_LIMIT[0]
            or _rate_used(request, "apply-failed") >= (APPLY_FAILED_LIMIT[0])
        ):
            form.add_error(None, "提交过于频繁，请一小时后再试。")
        elif not form.is_valid():
            _rate_limited(request, "apply-failed", APPLY_FAILED_LIMIT)
        else:
            data = dict(form.cleaned_data)
            result = run_service(
                form,
                lambda: services.do_submit_application(
                    association=association,
                    data=data,
                    photo=data.get("photo"),
                    certificates=form.certificates(),
                    committees=data.get("committees"),
                ),
            )
            if not result:
                _rate_limited(request, "apply-failed", APPLY_FAILED_LIMIT)
            else:
                _rate_limited(request, "apply", APPLY_LIMIT)
                application, secret = result
                return render(
                    request,
                    "membership/public_apply_done.html",
                    {"application": application, "secret": secret, "association": association},
                )
    return render(
        request,
        "membership/public_apply.html",
        {"form": form, "association": association, "charter_version": services.CHARTER_VERSION},
    )


@public
@require_http_methods(["GET", "POST"])
def status(request):
    """H-MEM-1: the applicant's own status page, by reference number and secret."""
    form = forms.StatusForm(request.POST or None)
    application, password_form = None, None
    if request.method == "POST":
        if _rate_limited(request, "status", STATUS_LIMIT):
            form.add_error(None, "查询过于频繁，请稍后再试。")
        elif form.is_valid():
            found = selectors.application_by_reference(form.cleaned_data["reference"])
            application = run_service(
                form, lambda: services.check_application_secret(found, form.cleaned_data["secret"])
            )
            if application and "password" in request.POST:
                password_form = forms.InitialPasswordForm(request.POST)
                if password_form.is_valid():
                    done = run_service(
                        password_form,
                        lambda: services.do_set_initial_password(
                            application=application,
                            secret=form.cleaned_data["secret"],
                            password=password_form.cleaned_data["password"],
                        ),
                    )
                    if done:
                        messages.success(request, f"登录密码已设置，请用登录名 {done.username} 登录。")
                        password_form = None
    context = {"form": form, "application": application or None, "vote_rejected": services.VOTE_REJECTED_REASON}
    if application:
        member = application.member
        context["needs_password"] = bool(member and not member.user.has_usable_password())
        context["password_form"] = password_form or forms.InitialPasswordForm()
        context["username"] = member.user.username if member else ""
        with unscoped("申请人本人查看自己申请的流转记录"):
            context["events"] = list(application.events.all())
    return render(request, "membership/public_status.html", context)


@public
def verify(request, token):
    """H-MEM-3: the QR code's page — only name, number, validity, and 已撤销 when revoked."""
    member = selectors.member_by_card_token(token)
    if member is None:
        raise Http404
    card = selectors.card_state(member)
    context = {
        "member": member,
        "card": card,
        "valid_until": card["valid_until"],
        "today": selectors.today(),
        "revoked": member.status == MemberStatus.REVOKED,
    }
    response = render(request, "membership/public_verify.html", context)
    response["X-Robots-Tag"] = "noindex"
    return response


# --- applications -----------------------------------------------------------------------------------------


@requires(Perm.MEMBERSHIP_VIEW)
def application_list(request):
    status_filter = request.GET.get("status", "")
    rows = selectors.filtered_applications(request.user, request.GET).select_related("association")
    page = keyset_page(rows, request, descending=True)
    return render(
        request,
        "membership/application_list.html",
        {"page": page, "statuses": ApplicationStatus.choices, "status": status_filter},
    )


@requires(Perm.MEMBERSHIP_VIEW)
def application_detail(request, pk):
    application = access_by_id(
        Application.objects.select_related("association", "member"), pk, request.user, Perm.MEMBERSHIP_VIEW
    )
    log_read(request.user, application, purpose="查看入会申请", request=request)
    with unscoped("已授权的申请：读取其证书、意向专委会、流转与表决"):
        certificates = list(application.certificates.all())
        committees = list(application.committees.all())
        events = list(application.events.select_related("actor"))
    vote = getattr(application, "vote", None)
    ballots = list(vote.ballots.select_related("voter")) if vote else []
    my_ballot = next((b for b in ballots if b.voter_id == request.user.pk), None)
    context = {
        "application": application,
        "masked_id": mask_id(application.id_number),
        "masked_phone": mask_mobile(application.phone),
        "education": dict(Education.choices).get(application.education, ""),
        "political_status": dict(PoliticalStatus.choices).get(application.political_status, ""),
        "certificates": certificates,
        "committees": committees,
        "events": events,
        "vote": vote,
        "ballots": ballots,
        "my_ballot": my_ballot,
        "VoteResult": VoteResult,
        "can_review": application.status == ApplicationStatus.SUBMITTED
        and can(request.user, Perm.MEMBERSHIP_REVIEW, application),
        "can_vote": bool(vote and vote.closed_at is None and my_ballot is None)
        and selectors.may_vote_as(request.user, application)
        and selectors.is_board_member(request.user, application.association),
        "can_close": bool(vote and vote.closed_at is None)
        and can(request.user, Perm.MEMBERSHIP_VOTE_CLOSE, application),
        "applicant_notices": list(contact_notifications(notices.topic_of(application))),
        "quorum": selectors.vote_quorum_status(application) if vote else None,
    }
    if context["can_review"]:
        context["review_form"] = forms.ReviewForm()
        context["simplified_form"] = forms.SimplifiedForm(
            certificates=Certificate.objects.filter(application=application)
        )
    if context["can_vote"]:
        context["ballot_form"] = forms.BallotForm()
    return render(request, "membership/application_detail.html", context)


@requires(Perm.MEMBERSHIP_REVIEW)
@require_POST
def application_review(request, pk):
    application = access_by_id(Application.objects.all(), pk, request.user, Perm.MEMBERSHIP_REVIEW)
    form = forms.ReviewForm(request.POST)
    if form.is_valid():
        run_service(
            form,
            lambda: services.do_review_application(
                actor=request.user,
                application=application,
                passed=form.cleaned_data["decision"] == "pass",
                note=form.cleaned_data["note"],
                final=form.cleaned_data["decision"] == "reject",
            ),
        )
    report_form(request, form, "初审意见已保存。")
    return redirect("membership:application-detail", pk=application.pk)


@requires(Perm.MEMBERSHIP_REVIEW)
@require_POST
def application_simplified(request, pk):
    application = access_by_id(Application.objects.all(), pk, request.user, Perm.MEMBERSHIP_REVIEW)
    form = forms.SimplifiedForm(request.POST, certificates=Certificate.objects.filter(application=application))
    if form.is_valid():
        run_service(
            form,
            lambda: services.do_admit_simplified(
                actor=request.user, application=application, licence=form.cleaned_data["licence"]
            ),
        )
    report_form(request, form, "已按简易程序批准入会。")
    return redirect("membership:application-detail", pk=application.pk)


def requires_vote(view):
    """``requires(Perm.MEMBERSHIP_VOTE)``, also open to a board seat held as a member (H-MEM-2).

    The handbook gives the admission vote to the board's members: a member appointed director or
    standing director votes through their own ``member`` assignment, without a second role and
    without switching grants. The gate lets through a user whose active grant is their ``member``
    assignment in an association where they hold a current board/standing-board position
    (``selectors.board_seat_association``); everyone else goes through ``requires`` unchanged.
    The declared permission stays MEMBERSHIP_VOTE (authorization matrix, ``manage.py check``).
    """
    gated = requires(Perm.MEMBERSHIP_VOTE)(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if (
            user.is_authenticated
            and not can(user, Perm.MEMBERSHIP_VOTE)
            and selectors.board_seat_association(user) is not None
        ):
            return view(request, *args, **kwargs)
        return gated(request, *args, **kwargs)

    wrapped.xinyuan_permission = Perm.MEMBERSHIP_VOTE
    return wrapped


def _vote_application(request, pk) -> Application:
    return selectors.application_for_voter(request.user, pk)


@requires_vote
@require_http_methods(["GET", "POST"])
def application_ballot(request, pk):
    """H-MEM-2: the vote page (GET) and the vote (POST) of one admission vote."""
    application = _vote_application(request, pk)
    if request.method == "POST":
        form = forms.BallotForm(request.POST)
        if form.is_valid():
            run_service(
                form,
                lambda: services.do_cast_ballot(
                    actor=request.user, application=application, choice=form.cleaned_data["choice"]
                ),
            )
        report_form(request, form, "您的表决意见已记录。")
        if can(request.user, Perm.MEMBERSHIP_VIEW, application):
            return redirect("membership:application-detail", pk=application.pk)
        return redirect("membership:application-ballot", pk=application.pk)
    log_read(request.user, application, purpose="入会表决：查看申请", request=request)
    vote = getattr(application, "vote", None)
    with unscoped("表决人查看所表决申请的证书与意向专委会"):
        certificates = list(application.certificates.all())
        committees = list(application.committees.all())
    my_ballot = vote.ballots.filter(voter=request.user).first() if vote else None
    can_vote = (
        bool(vote and vote.closed_at is None and my_ballot is None)
        and application.status == ApplicationStatus.VOTING
        and selectors.may_vote_as(request.user, application)
        and selectors.is_board_member(request.user, application.association)
    )
    context = {
        "application": application,
        "education": dict(Education.choices).get(application.education, ""),
        "certificates": certificates,
        "committees": committees,
        "vote": vote,
        "ballot_count": vote.ballots.count() if vote else 0,
        "my_ballot": my_ballot,
        "can_vote": can_vote,
        "ballot_form": forms.BallotForm() if can_vote else None,
        "can_view_detail": can(request.user, Perm.MEMBERSHIP_VIEW, application),
        "quorum": selectors.vote_quorum_status(application) if vote else None,
    }
    return render(request, "membership/application_vote.html", context)


@requires(Perm.MEMBERSHIP_VOTE_CLOSE)
@require_http_methods(["GET", "POST"])
def application_close_vote(request, pk):
    """H-MEM-2: the close page — quorum, who has not voted, a confirmation — and the close itself (POST)."""
    application = access_by_id(
        Application.objects.select_related("association"), pk, request.user, Perm.MEMBERSHIP_VOTE_CLOSE
    )
    vote = getattr(application, "vote", None)
    form = forms.CloseVoteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if run_service(form, lambda: services.do_close_vote(actor=request.user, application=application)):
            messages.success(request, "表决已结束，结果已记录。")
            return redirect("membership:application-detail", pk=application.pk)
    context = {
        "application": application,
        "vote": vote,
        "form": form,
        "quorum": selectors.vote_quorum_status(application),
        "open": vote is not None and vote.closed_at is None and application.status == ApplicationStatus.VOTING,
    }
    return render(request, "membership/application_close_vote.html", context)


@requires(Perm.MEMBERSHIP_VIEW)
def application_photo(request, pk):
    application = access_by_id(Application.objects.all(), pk, request.user, Perm.MEMBERSHIP_VIEW)
    log_read(request.user, application, purpose="查看申请人照片", request=request)
    return _stream(application.photo, download_name=f"{application.reference}.jpg")


@requires(Perm.MEMBERSHIP_VIEW)
def certificate_scan(request, pk):
    certificate = access_by_id(Certificate.objects.all(), pk, request.user, Perm.MEMBERSHIP_VIEW)
    log_read(request.user, certificate, purpose="查看证书扫描件", request=request)
    return _stream(certificate.scan, download_name=f"certificate-{certificate.pk}")


# --- members ----------------------------------------------------------------------------------------------


def _members(user, perm=Perm.MEMBERSHIP_VIEW):
    return scope(Member.objects.all(), user, perm)


@requires(Perm.MEMBERSHIP_VIEW)
def member_list(request):
    """H-MEM-4: members with tier (derived) and committees; filter by number/name, status, committee, tier."""
    rows = selectors.filtered_members(request.user, request.GET).select_related("association")
    rows = rows.prefetch_related(
        Prefetch(
            "committees",
            queryset=CommitteeMembership.objects.filter(left_on__isnull=True).select_related("committee"),
            to_attr="active_committees",
        )
    )
    page = keyset_page(rows, request)
    tiers = selectors.tiers_of([m.pk for m in page])
    items = [(m, Tier(tiers[m.pk]).label) for m in page]
    association = _association(request, Perm.MEMBERSHIP_VIEW)
    return render(
        request,
        "membership/member_list.html",
        {
            "page": page,
            "items": items,
            "q": request.GET.get("q", "").strip(),
            "status": request.GET.get("status", ""),
            "tier": request.GET.get("tier", ""),
            "committee": request.GET.get("committee", ""),
            "tiers": Tier.choices,
            "statuses": MemberStatus.choices,
            "committees": selectors.committees_of(association) if association else [],
        },
    )


def _member_context(member, user) -> dict:
    today = selectors.today()
    return {
        "member": member,
        "tier": Tier(selectors.tier_of(member)).label,
        "committees": list(member.committees.select_related("committee").order_by("-left_on", "id")),
        "positions": list(member.positions.select_related("body", "unit").order_by("-term_start")),
        "certificates": list(member.certificates.order_by("expires_on")),
        "payments": list(member.payments.order_by("-year", "-paid_on")),
        "valid_until": selectors.card_valid_until(member),
        "card": selectors.card_state(member, today),
        "soon": today + dt.timedelta(days=selectors.EXPIRY_WARNING_DAYS),
        "today": today,
    }


@requires(Perm.MEMBERSHIP_VIEW)
def member_detail(request, pk):
    member = access_by_id(Member.objects.select_related("association", "user"), pk, request.user, Perm.MEMBERSHIP_VIEW)
    log_read(request.user, member, purpose="查看会员档案", request=request)
    context = _member_context(member, request.user)
    context.update(
        {
            "masked_id": mask_id(member.id_number) if member.id_number else "",
            "masked_phone": mask_mobile(member.phone) if member.phone else "",
            "conduct": list(member.conduct.order_by("-decided_on")),
            "complaints": list(member.complaints.order_by("-received_on")),
            "revocation": getattr(member, "revocation", None),
            "can_manage": member.is_active and can(request.user, Perm.MEMBERSHIP_MANAGE, member),
            "can_conduct": can(request.user, Perm.CONDUCT_MANAGE, member),
        }
    )
    if context["can_manage"]:
        context["committee_form"] = forms.CommitteeForm(committees=selectors.committees_of(member.association))
        context["certificate_form"] = forms.CertificateForm()
        context["photo_form"] = forms.PhotoForm()
    if context["can_conduct"]:
        context["conduct_form"] = forms.ConductForm()
    return render(request, "membership/member_detail.html", context)


@requires(Perm.MEMBERSHIP_VIEW)
def member_photo(request, pk):
    member = access_by_id(Member.objects.all(), pk, request.user, Perm.MEMBERSHIP_VIEW)
    return _stream(member.photo, download_name=f"{member.number}.jpg")


@requires(Perm.MEMBERSHIP_VIEW)
def member_card(request, pk):
    member = access_by_id(Member.objects.select_related("association"), pk, request.user, Perm.MEMBERSHIP_VIEW)
    log_read(request.user, member, purpose="打印会员证", request=request)
    return _card_response(member, request)


def _card_response(member, request):
    response = HttpResponse(membership_card_pdf(member, request=request), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="membership-card-{member.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@requires(Perm.MEMBERSHIP_MANAGE)
@require_POST
def member_committee_join(request, pk):
    member = access_by_id(Member.objects.all(), pk, request.user, Perm.MEMBERSHIP_MANAGE)
    form = forms.CommitteeForm(request.POST, committees=selectors.committees_of(member.association))
    if form.is_valid():
        run_service(
            form,
            lambda: services.do_join_committee(
                actor=request.user, member=member, committee=form.cleaned_data["committee"]
            ),
        )
    report_form(request, form, "已加入专业委员会。")
    return redirect("membership:member-detail", pk=member.pk)


@requires(Perm.MEMBERSHIP_MANAGE)
@require_POST
def committee_leave(request, pk):
    membership = access_by_id(
        CommitteeMembership.objects.select_related("member__user", "committee"),
        pk,
        request.user,
        Perm.MEMBERSHIP_MANAGE,
    )
    form = forms.forms.Form(request.POST)
    run_service(form, lambda: services.do_leave_committee(actor=request.user, membership=membership))
    report_form(request, form, "已退出专业委员会。")
    return redirect("membership:member-detail", pk=membership.member_id)


@requires(Perm.MEMBERSHIP_MANAGE)
@require_POST
def member_certificate_add(request, pk):
    member = access_by_id(Member.objects.all(), pk, request.user, Perm.MEMBERSHIP_MANAGE)
    form = forms.CertificateForm(request.POST, request.FILES)
    if form.is_valid():
        run_service(
            form, lambda: services.do_add_certificate(actor=request.user, member=member, data=form.cleaned_data)
        )
    report_form(request, form, "证书已登记。")
    return redirect("membership:member-detail", pk=member.pk)


@requires(Perm.MEMBERSHIP_MANAGE)
@require_POST
def member_photo_upload(request, pk):
    member = access_by_id(Member.objects.all(), pk, request.user, Perm.MEMBERSHIP_MANAGE)
    form = forms.PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        run_service(
            form,
            lambda: services.do_set_member_photo(actor=request.user, member=member, photo=form.cleaned_data["photo"]),
        )
    report_form(request, form, "照片已更换。")
    return redirect("membership:member-detail", pk=member.pk)


@requires(Perm.MEMBERSHIP_VIEW)
def certificate_expiring(request):
    """H-MEM-3: certificates of active members that expire within 60 days (or already expired)."""
    today = selectors.today()
    rows = (
        selectors.expiring_certificates_in_scope(request.user)
        .select_related("member")
        .order_by("expires_on", "id")[:500]
    )
    return render(request, "membership/certificate_expiring.html", {"rows": rows, "today": today})


# --- dues -------------------------------------------------------------------------------------------------


@requires(Perm.DUES_MANAGE)
def dues(request):
    """H-MEM-3: the dues ledger of a year, the rates, and the payment form."""
    return _dues_page(request, _year(request))


def _dues_page(request, year: int, payment_form=None, status: int = 200):
    """The ledger page; after a refused payment, with the bound form and its errors on the fields."""
    association = _association(request, Perm.DUES_MANAGE)
    payments = (
        scope(DuesPayment.objects.filter(year=year), request.user, Perm.DUES_MANAGE)
        .select_related("member", "recorded_by")
        .order_by("-paid_on", "-id")[:500]
    )
    members = _members(request.user, Perm.DUES_MANAGE).filter(status=MemberStatus.ACTIVE).order_by("number")
    context = {
        "year": year,
        "association": association,
        "payments": payments,
        "rates": selectors.rates_for(association, year) if association else {},
        "tiers": Tier.choices,
        "payment_form": payment_form
        or forms.PaymentForm(
            members=members, initial={"year": year, "paid_on": selectors.today()}, prefix=forms.PAYMENT_PREFIX
        ),
        "rate_form": forms.RateForm(initial={"year": year}, prefix=forms.RATE_PREFIX),
    }
    context["rate_rows"] = [(label, context["rates"].get(value)) for value, label in Tier.choices]
    return render(request, "membership/dues.html", context, status=status)


@requires(Perm.DUES_MANAGE)
@require_POST
def dues_pay(request):
    members = _members(request.user, Perm.DUES_MANAGE)
    access_by_id(
        members, request.POST.get(f"{forms.PAYMENT_PREFIX}-member"), request.user, Perm.DUES_MANAGE
    )  # 404 outside scope
    form = forms.PaymentForm(request.POST, members=members, prefix=forms.PAYMENT_PREFIX)
    if form.is_valid():
        data = form.cleaned_data
        run_service(
            form,
            lambda: services.do_record_payment(
                actor=request.user,
                member=data["member"],
                year=data["year"],
                amount=data["amount"],
                paid_on=data["paid_on"],
                method=data["method"],
                receipt_number=data["receipt_number"],
                is_supplement=data["is_supplement"],
                supplement_reason=data["supplement_reason"],
            ),
        )
    if form.errors:  # show the refusal on the field, with what was typed
        year = form.cleaned_data.get("year") if hasattr(form, "cleaned_data") else None
        return _dues_page(
            request, year if isinstance(year, int) and 2000 <= year <= 2100 else _year(request), form, 400
        )
    messages.success(request, "会费已登记入台帐。")
    return redirect(reverse("membership:dues") + f"?year={request.POST.get(f'{forms.PAYMENT_PREFIX}-year', '')}")


@requires(Perm.DUES_MANAGE)
@require_POST
def dues_rate(request):
    form = forms.RateForm(request.POST, prefix=forms.RATE_PREFIX)
    association = access_by_id(
        OrgUnit.objects.all(),
        request.POST.get("association"),
        request.user,
        Perm.DUES_MANAGE,
    )
    if form.is_valid():
        data = form.cleaned_data
        run_service(
            form,
            lambda: services.do_set_dues_rate(
                actor=request.user, association=association, year=data["year"], tier=data["tier"], amount=data["amount"]
            ),
        )
    report_form(request, form, "会费标准已保存。")
    return redirect(reverse("membership:dues") + f"?year={request.POST.get(f'{forms.RATE_PREFIX}-year', '')}")


@requires(Perm.DUES_MANAGE)
def dues_arrears(request):
    """H-MEM-3: who still owes dues for the year."""
    year = _year(request)
    association = _association(request, Perm.DUES_MANAGE)
    rows = selectors.arrears(association, year) if association else []
    for row in rows:
        row["tier_label"] = Tier(row["tier"]).label
    return render(request, "membership/dues_arrears.html", {"year": year, "rows": rows, "association": association})


# --- bodies and positions ---------------------------------------------------------------------------------


@requires(Perm.MEMBERSHIP_VIEW)
def position_list(request):
    """H-ORG-1, H-ORG-4: bodies with their current holders, and every position with its term and filing."""
    show_all = request.GET.get("all") == "1"
    rows = selectors.filtered_positions(request.user, request.GET)
    rows = rows.select_related("member", "body", "unit").order_by("kind", "term_start", "id")[:500]
    association = _association(request, Perm.MEMBERSHIP_VIEW)
    bodies = []
    if association:
        services_bodies = Body.objects.filter(association=association).order_by("id")
        bodies = [
            (b, selectors.current_holders(association, b.kind))
            for b in services_bodies
            if b.kind != BodyKind.GENERAL_ASSEMBLY
        ]
    return render(
        request,
        "membership/position_list.html",
        {
            "rows": rows,
            "bodies": bodies,
            "show_all": show_all,
            "can_manage": can(request.user, Perm.POSITION_MANAGE),
            "quorum_rule": selectors.quorum_rule_text(*selectors.vote_quorum(association)) if association else "",
            "filing_form": forms.FilingForm(),
            "end_form": forms.EndPositionForm(initial={"ended_on": selectors.today()}),
        },
    )


@requires(Perm.POSITION_MANAGE)
@require_http_methods(["GET", "POST"])
def vote_rules(request):
    """H-MEM-2: set the quorum a board vote needs (the association's charter; default 2/3)."""
    if request.method == "POST":
        # Any unit in scope; the service refuses one that is not an association (as dues_rate does).
        association = access_by_id(
            OrgUnit.objects.all(), request.POST.get("association"), request.user, Perm.POSITION_MANAGE
        )
    else:
        association = _association(request, Perm.POSITION_MANAGE)
        if association is None:
            messages.info(request, "您任职的单位中没有协会，无需设置理事会表决规则。")
            return redirect("membership:position-list")
    numerator, denominator = selectors.vote_quorum(association)
    initial = {"vote_quorum_numerator": numerator, "vote_quorum_denominator": denominator}
    form = forms.VoteRulesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = run_service(
            form,
            lambda: services.do_set_vote_quorum(
                actor=request.user,
                association=association,
                numerator=data["vote_quorum_numerator"],
                denominator=data["vote_quorum_denominator"],
            ),
        )
        if done:
            messages.success(
                request, f"理事会表决法定人数已设为 {data['vote_quorum_numerator']}/{data['vote_quorum_denominator']}。"
            )
            return redirect("membership:position-list")
    context = {
        "form": form,
        "title": f"理事会表决规则 · {association.name}",
        "multipart": False,
        "hidden": {"association": association.pk},
        "intro": f"现行规则：{selectors.quorum_rule_text(numerator, denominator)}。",
    }
    return render(request, "membership/form_page.html", context, status=400 if form.errors else 200)


@requires(Perm.POSITION_MANAGE)
@require_http_methods(["GET", "POST"])
def position_create(request):
    members = _members(request.user, Perm.POSITION_MANAGE).filter(status=MemberStatus.ACTIVE).order_by("number")
    units = scope(
        OrgUnit.objects.filter(kind__in=[UnitKind.DEPARTMENT, UnitKind.COMMITTEE], is_active=True),
        request.user,
        Perm.POSITION_MANAGE,
    ).order_by("code")
    form = forms.PositionForm(request.POST or None, members=members, units=units)
    if request.method == "POST" and form.is_valid():
        done = run_service(form, lambda: services.do_appoint(actor=request.user, **form.cleaned_data))
        if done:
            messages.success(request, "职务已登记。")
            return redirect("membership:position-list")
    return render(request, "membership/form_page.html", {"form": form, "title": "任命职务", "multipart": False})


@requires(Perm.POSITION_MANAGE)
@require_POST
def position_filing(request, pk):
    position = access_by_id(Position.objects.all(), pk, request.user, Perm.POSITION_MANAGE)
    form = forms.FilingForm(request.POST)
    if form.is_valid():
        run_service(
            form,
            lambda: services.do_record_filing(
                actor=request.user,
                position=position,
                filing_date=form.cleaned_data["filing_date"],
                filing_number=form.cleaned_data["filing_number"],
            ),
        )
    report_form(request, form, "备案已登记。")
    return redirect("membership:position-list")


@requires(Perm.POSITION_MANAGE)
@require_POST
def position_end(request, pk):
    position = access_by_id(Position.objects.all(), pk, request.user, Perm.POSITION_MANAGE)
    form = forms.EndPositionForm(request.POST)
    if form.is_valid():
        run_service(
            form,
            lambda: services.do_end_position(
                actor=request.user, position=position, ended_on=form.cleaned_data["ended_on"]
            ),
        )
    report_form(request, form, "已登记卸任。")
    return redirect("membership:position-list")


# --- conduct ----------------------------------------------------------------------------------------------


@requires(Perm.CONDUCT_MANAGE)
def complaint_list(request):
    rows = (
        scope(EthicsComplaint.objects.all(), request.user, Perm.CONDUCT_MANAGE)
        .select_related("member")
        .order_by("-received_on", "-id")[:500]
    )
    return render(
        request,
        "membership/complaint_list.html",
        {"rows": rows, "decide_form": forms.DecideComplaintForm(), "RECEIVED": ComplaintStatus.RECEIVED},
    )


@requires(Perm.CONDUCT_MANAGE)
@require_http_methods(["GET", "POST"])
def complaint_create(request):
    members = _members(request.user, Perm.CONDUCT_MANAGE).order_by("number")
    form = forms.ComplaintForm(request.POST or None, members=members)
    if request.method == "POST" and form.is_valid():
        done = run_service(form, lambda: services.do_register_complaint(actor=request.user, **form.cleaned_data))
        if done:
            messages.success(request, "伦理投诉已登记。")
            return redirect("membership:complaint-list")
    return render(request, "membership/form_page.html", {"form": form, "title": "登记伦理投诉"})


@requires(Perm.CONDUCT_MANAGE)
@require_POST
def complaint_decide(request, pk):
    complaint = access_by_id(EthicsComplaint.objects.all(), pk, request.user, Perm.CONDUCT_MANAGE)
    form = forms.DecideComplaintForm(request.POST)
    if form.is_valid():
        run_service(
            form,
            lambda: services.do_decide_complaint(
                actor=request.user,
                complaint=complaint,
                upheld=form.cleaned_data["upheld"] == "yes",
                decision=form.cleaned_data["decision"],
            ),
        )
    report_form(request, form, "投诉处理结论已记录。")
    return redirect("membership:complaint-list")


@requires(Perm.CONDUCT_MANAGE)
@require_POST
def member_conduct_add(request, pk):
    member = access_by_id(Member.objects.all(), pk, request.user, Perm.CONDUCT_MANAGE)
    form = forms.ConductForm(request.POST)
    if form.is_valid():
        run_service(form, lambda: services.do_record_conduct(actor=request.user, member=member, **form.cleaned_data))
    report_form(request, form, "考核奖惩已记录。")
    return redirect("membership:member-detail", pk=member.pk)


@requires(Perm.CONDUCT_MANAGE)
@require_http_methods(["GET", "POST"])
def member_revoke(request, pk):
    """H-MEM-5: record the board's or standing board's vote that revokes a membership."""
    member = access_by_id(Member.objects.select_related("association"), pk, request.user, Perm.CONDUCT_MANAGE)
    bodies = Body.objects.filter(association=member.association, kind__in=[BodyKind.BOARD, BodyKind.STANDING_BOARD])
    if not bodies.exists() and member.association.kind == UnitKind.ASSOCIATION:
        services.ensure_bodies(member.association)
    complaints = EthicsComplaint.objects.filter(member=member, status=ComplaintStatus.UPHELD)
    form = forms.RevocationForm(request.POST or None, bodies=bodies, complaints=complaints)
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form, lambda: services.do_revoke_membership(actor=request.user, member=member, **form.cleaned_data)
        )
        if done:
            messages.success(request, "已撤销该会员资格，会员证验证页将显示“已撤销”。")
            return redirect("membership:member-detail", pk=member.pk)
    return render(
        request,
        "membership/form_page.html",
        {"form": form, "title": f"撤销会员资格：{member.number} {member.name}", "danger": True},
    )


# --- dashboard and self-service ---------------------------------------------------------------------------


@requires(Perm.MEMBERSHIP_VIEW)
def dashboard(request):
    """Secretariat dashboard: members by tier/committee, applications by stage, dues, plus other modules."""
    year = _year(request)
    association = _association(request, Perm.MEMBERSHIP_VIEW)
    context = {
        "year": year,
        "association": association,
        "associations": selectors.associations_for(request.user, Perm.MEMBERSHIP_VIEW),
    }
    if association:
        context["stats"] = selectors.dashboard(association, year)
        context["chart"] = {
            "tiers": [
                {"name": CARD_TIER[value], "value": n}
                for (value, _), (_, n) in zip(Tier.choices, context["stats"]["tiers"], strict=True)
            ],
            "committees": {
                "names": [name for name, _ in context["stats"]["committees"]],
                "values": [n for _, n in context["stats"]["committees"]],
            },
            "stages": {
                "names": [label for label, _ in context["stats"]["stages"]],
                "values": [n for _, n in context["stats"]["stages"]],
            },
        }
        context["extra"] = _other_modules_summary(association)
    return render(request, "membership/dashboard.html", context)


LABELS = {
    "upcoming": "即将召开的会议",
    "reports_owed": "待交书面工作报告",
    "duty_reports_owed": "待交履职报告",
    "continuing_education": "继续教育学时",
    "supervision": "督导学时",
    "volunteer": "志愿服务时长",
    "education_total": "学时合计",
    "training": "培训学时",
    "case_practice": "个案实践学时",
    "pending": "待确认的时长记录",
    "members": "有时长记录的人数",
    "help_requests": "待办求助个案",
    "shifts": "热线值班",
    "dispatches": "应急派遣",
    "total": "项目总数",
    "budget_total": "预算合计（元）",
    "spent_total": "已支出（元）",
    "remaining": "预算余额（元）",
    "overdue_reports": "逾期未报进度",
    "overdue_milestones": "逾期里程碑",
}


def present(data) -> list[tuple[str, str, list]]:
    """Turn another module's summary dict into (label, value, items) rows with Chinese labels.

    Lists become a count plus their first five entries; nested dicts of numbers are flattened
    with the outer label as prefix; unknown keys are left out rather than shown raw.
    """
    rows = []
    if not isinstance(data, dict):
        return rows
    year = data.get("year")
    for key, value in data.items():
        if key == "year":
            continue
        if isinstance(value, dict):
            prefix = {"this_year": f"{year} 年" if year else "本年", "all_time": "累计"}.get(key)
            if prefix is None:
                continue
            for inner, number in value.items():
                if inner in LABELS:
                    rows.append((f"{prefix}{LABELS[inner]}", str(number), []))
        elif key in LABELS:
            if isinstance(value, list | tuple):
                rows.append((LABELS[key], f"{len(value)} 项", [str(getattr(v, "meeting", v)) for v in value[:5]]))
            else:
                label = f"{year} 年{LABELS[key]}" if year and key not in ("pending", "members") else LABELS[key]
                rows.append((label, str(value), []))
    return rows


def _other_modules_summary(association) -> list[tuple[str, list]]:
    """Sections from other association modules, when they provide the function."""
    sections = []
    try:
        from apps.assistance import selectors as assistance
    except ImportError:
        assistance = None
    if assistance is not None and hasattr(assistance, "hours_summary"):
        sections.append(("服务与学时", present(assistance.hours_summary(association))))
    try:
        from apps.projects import selectors as projects
    except ImportError:
        projects = None
    if projects is not None and hasattr(projects, "project_summary"):
        sections.append(("项目概况", present(projects.project_summary(association))))
    return sections


def _own_member(request, pk=None) -> Member:
    rows = selectors.members_for_user(request.user)
    member = rows.filter(pk=pk).first() if pk else rows.first()
    if member is None:
        raise Http404
    return member


@login_only
def me(request):
    """Item 7: a member's own card, dues, committees, positions, certificates — nothing of anyone else."""
    members = list(selectors.members_for_user(request.user))
    cards = []
    for member in members:
        context = _member_context(member, request.user)
        context["rates"] = selectors.rates_for(member.association, selectors.today().year)
        context["owed"] = selectors.dues_status(member.association, selectors.today().year, [member])[0]
        cards.append(context)
    sections = []
    try:
        from apps.governance import selectors as governance
    except ImportError:
        governance = None
    if governance is not None and hasattr(governance, "meetings_for_user"):
        sections.append(("会议与工作报告", present(governance.meetings_for_user(request.user))))
    try:
        from apps.assistance import selectors as assistance
    except ImportError:
        assistance = None
    if assistance is not None and hasattr(assistance, "hours_for_user"):
        sections.append(("我的服务时长与学时", present(assistance.hours_for_user(request.user))))
    if assistance is not None and hasattr(assistance, "tasks_for_user"):
        sections.append(("我的任务", present(assistance.tasks_for_user(request.user))))
    votes = selectors.awaiting_my_ballot(request.user)
    return render(request, "membership/me.html", {"cards": cards, "sections": sections, "votes": votes})


@login_only
def me_card(request, pk):
    member = _own_member(request, pk)
    return _card_response(member, request)


@login_only
def me_photo(request, pk):
    member = _own_member(request, pk)
    return _stream(member.photo, download_name=f"{member.number}.jpg")
