"""Association membership: applications, admission votes, members, bodies and positions, dues, conduct.

Every row belongs to one association (the root ``OrgUnit`` of kind ``association``) and carries a
copy of its path in ``unit_path`` (``scope_path_field``), so two associations never see each
other's data and every list is one indexed prefix query.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.scoping import ScopedManagerMixin, ScopedQuerySetMixin
from apps.vault.fields import BlindIndexField, EncryptedCharField, EncryptedTextField
from apps.vault.models import VaultModel, VaultQuerySet
from apps.vault.normalizers import normalize_id_number

from .choices import (
    AdmissionRoute,
    ApplicationStatus,
    BodyKind,
    CertificateKind,
    ComplaintStatus,
    ConductKind,
    DuesMethod,
    EthicsPrinciple,
    MemberStatus,
    PositionKind,
    RevocationReason,
    Tier,
    VoteChoice,
    VoteResult,
)
from .storage import private_storage


class AssociationOwned(models.Model):
    """Abstract: a row of one association, scoped by the association's path."""

    scope_path_field = "unit_path"

    association = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="协会")
    unit_path = models.CharField(max_length=255, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.association_id and not self.unit_path:
            self.unit_path = self.association.path
        super().save(*args, **kwargs)


class ApplicationQuerySet(ScopedQuerySetMixin, VaultQuerySet):
    pass


class ApplicationManager(ScopedManagerMixin, models.Manager.from_queryset(ApplicationQuerySet)):
    pass


def _photo_path(instance, filename):
    return f"private/membership/photos/{instance.unit_path.strip('/').replace('/', '-')}/{filename}"


def _scan_path(instance, filename):
    return f"private/membership/certificates/{filename}"


class Application(VaultModel):
    """A membership application (会员登记表) sent from the public page (H-MEM-1).

    Identifiers are encrypted; the applicant follows it with ``reference`` and a secret whose hash
    only is stored. Every query must be scoped (``Application.objects.visible_to``).
    """

    scope_path_field = "unit_path"

    association = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="协会")
    unit_path = models.CharField(max_length=255, editable=False)
    reference = models.CharField("申请编号", max_length=20, unique=True)
    secret_hash = models.CharField(max_length=128, editable=False)
    status = models.CharField(
        "状态", max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    charter_version = models.CharField("所阅章程版本", max_length=40)
    charter_accepted_at = models.DateTimeField("同意章程时间")
    name = EncryptedCharField("姓名", max_length=50)
    gender = models.CharField("性别", max_length=10)
    birth_date = models.DateField("出生日期", null=True, blank=True)
    id_number = EncryptedCharField("身份证号码", max_length=18)
    id_number_index = BlindIndexField(source="id_number", normalizer=normalize_id_number)
    ethnicity = models.CharField("民族", max_length=20, blank=True)
    political_status = models.CharField("政治面貌", max_length=20, blank=True)
    education = models.CharField("学历", max_length=20, blank=True)
    major = models.CharField("所学专业", max_length=50, blank=True)
    employer = EncryptedCharField("工作单位", max_length=100, blank=True)
    job_title = models.CharField("职务/职称", max_length=50, blank=True)
    phone = EncryptedCharField("手机号码", max_length=20)
    email = EncryptedCharField("电子邮箱", max_length=100, blank=True)
    address = EncryptedCharField("通讯地址", max_length=200, blank=True)
    experience = EncryptedTextField("心理学学习与助人经历", blank=True)
    specialties = models.CharField("擅长领域", max_length=200, blank=True)
    committees = models.ManyToManyField(
        "orgs.OrgUnit", blank=True, related_name="+", verbose_name="意向专业委员会（最多两个）"
    )
    photo = models.ImageField("电子照片", storage=private_storage, upload_to=_photo_path)
    submitted_at = models.DateTimeField("提交时间", auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="初审人",
    )
    reviewed_at = models.DateTimeField("初审时间", null=True, blank=True)
    review_note = models.TextField("初审意见", blank=True)
    route = models.CharField("入会方式", max_length=20, choices=AdmissionRoute.choices, blank=True)
    licence = models.ForeignKey(
        "Certificate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="简易程序依据的执业资格",
    )
    decided_at = models.DateTimeField("结果时间", null=True, blank=True)
    member = models.OneToOneField(
        "Member",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="application",
        verbose_name="入会后的会员",
    )

    objects = ApplicationManager()

    class Meta:
        verbose_name = "入会申请"
        verbose_name_plural = "入会申请"
        indexes = [models.Index(fields=["unit_path", "status", "id"], name="mship_app_scope")]

    def __str__(self):
        return f"入会申请 {self.reference}"


class ApplicationEvent(models.Model):
    """One transition of an application: who moved it, from what to what, and why."""

    scope_path_field = "application__unit_path"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, choices=ApplicationStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=ApplicationStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "申请流转记录"
        verbose_name_plural = "申请流转记录"
        ordering = ["id"]

    def __str__(self):
        return f"{self.get_from_status_display() or '—'} → {self.get_to_status_display()}"


class AdmissionVote(AssociationOwned):
    """The board's vote on one application (H-MEM-2); closed by the secretariat, then kept."""

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="vote")
    opened_at = models.DateTimeField("开始时间", auto_now_add=True)
    closed_at = models.DateTimeField("结束时间", null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    result = models.CharField("结果", max_length=20, choices=VoteResult.choices, default=VoteResult.OPEN)
    approve_count = models.PositiveIntegerField("同意", default=0)
    reject_count = models.PositiveIntegerField("反对", default=0)
    abstain_count = models.PositiveIntegerField("弃权", default=0)

    class Meta:
        verbose_name = "入会表决"
        verbose_name_plural = "入会表决"

    def __str__(self):
        return f"入会表决 #{self.pk}"


class Ballot(models.Model):
    """One board member's vote; one per voter per vote (database constraint)."""

    scope_path_field = "vote__unit_path"

    vote = models.ForeignKey(AdmissionVote, on_delete=models.PROTECT, related_name="ballots")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    choice = models.CharField("表决意见", max_length=10, choices=VoteChoice.choices)
    cast_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "表决票"
        verbose_name_plural = "表决票"
        constraints = [models.UniqueConstraint(fields=["vote", "voter"], name="mship_ballot_once")]

    def __str__(self):
        return f"表决票 #{self.pk}"


class Member(VaultModel, AssociationOwned):
    """A member of an association (会员): number, photo, card token, status (H-MEM-3).

    The tier is not stored: it is derived from current positions (``selectors.tiers_of``).
    A revoked member is kept, marked revoked; the card's public page then says so.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    number = models.CharField("会员编号", max_length=20)
    number_year = models.PositiveSmallIntegerField(editable=False)
    number_seq = models.PositiveIntegerField(editable=False)
    name = models.CharField("姓名", max_length=50)
    gender = models.CharField("性别", max_length=10, blank=True)
    id_number = EncryptedCharField("身份证号码", max_length=18, blank=True)
    id_number_index = BlindIndexField(source="id_number", normalizer=normalize_id_number)
    phone = EncryptedCharField("手机号码", max_length=20, blank=True)
    employer = EncryptedCharField("工作单位", max_length=100, blank=True)
    photo = models.ImageField("电子照片", storage=private_storage, upload_to=_photo_path, blank=True)
    joined_on = models.DateField("入会日期")
    status = models.CharField("状态", max_length=10, choices=MemberStatus.choices, default=MemberStatus.ACTIVE)
    revoked_on = models.DateField("撤销日期", null=True, blank=True)
    card_token = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "会员"
        verbose_name_plural = "会员"
        indexes = [models.Index(fields=["unit_path", "id"], name="mship_member_scope")]
        constraints = [
            models.UniqueConstraint(fields=["association", "number"], name="mship_member_number_unique"),
            models.UniqueConstraint(
                fields=["association", "number_year", "number_seq"], name="mship_member_seq_unique"
            ),
            models.UniqueConstraint(fields=["association", "user"], name="mship_member_user_unique"),
        ]

    def __str__(self):
        return f"会员 {self.number}"

    @property
    def is_active(self) -> bool:
        return self.status == MemberStatus.ACTIVE


class Certificate(VaultModel):
    """A professional certificate of an applicant or member: kind, number, issuer, expiry, scan."""

    scope_path_field = "unit_path"

    unit_path = models.CharField(max_length=255, editable=False)
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.CASCADE, related_name="certificates"
    )
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.CASCADE, related_name="certificates")
    kind = models.CharField("证书类别", max_length=20, choices=CertificateKind.choices)
    number = EncryptedCharField("证书编号", max_length=50)
    issuer = models.CharField("发证机关", max_length=100)
    issued_on = models.DateField("发证日期", null=True, blank=True)
    expires_on = models.DateField("有效期至", null=True, blank=True, help_text="长期有效可不填")
    scan = models.FileField("扫描件", storage=private_storage, upload_to=_scan_path, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "资格证书"
        verbose_name_plural = "资格证书"
        indexes = [models.Index(fields=["unit_path", "expires_on"], name="mship_cert_expiry")]
        constraints = [
            models.CheckConstraint(
                condition=Q(application__isnull=False) | Q(member__isnull=False), name="mship_cert_has_owner"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()}证书"


class CommitteeMembership(AssociationOwned):
    """A member in a specialty committee (H-ORG-3): at most two at a time.

    The limit lives in the database as well: an active row takes slot 1 or 2, unique per member.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="committees")
    committee = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="专业委员会")
    slot = models.PositiveSmallIntegerField(editable=False)
    joined_on = models.DateField("加入日期")
    left_on = models.DateField("退出日期", null=True, blank=True)

    class Meta:
        verbose_name = "专业委员会成员"
        verbose_name_plural = "专业委员会成员"
        constraints = [
            models.CheckConstraint(condition=Q(slot__in=[1, 2]), name="mship_committee_slot_1_2"),
            models.UniqueConstraint(
                fields=["member", "slot"], condition=Q(left_on__isnull=True), name="mship_committee_two_max"
            ),
            models.UniqueConstraint(
                fields=["member", "committee"], condition=Q(left_on__isnull=True), name="mship_committee_once"
            ),
        ]

    def __str__(self):
        return f"{self.committee} 成员"


class Body(AssociationOwned):
    """A body of the association (H-ORG-1): general assembly, board, standing board, secretariat."""

    kind = models.CharField("机构", max_length=20, choices=BodyKind.choices)
    name = models.CharField("名称", max_length=50)

    class Meta:
        verbose_name = "协会机构"
        verbose_name_plural = "协会机构"
        constraints = [models.UniqueConstraint(fields=["association", "kind"], name="mship_body_unique")]

    def __str__(self):
        return self.name


class Position(AssociationOwned):
    """A position held by a member for a term (H-ORG-4), in a body or in a department/committee.

    Secretary-general and above record their filing with the registration authority.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="positions", verbose_name="会员")
    kind = models.CharField("职务", max_length=30, choices=PositionKind.choices)
    body = models.ForeignKey(Body, null=True, blank=True, on_delete=models.PROTECT, related_name="positions")
    unit = models.ForeignKey(
        "orgs.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="部门/专委会"
    )
    term_start = models.DateField("任期开始")
    term_end = models.DateField("任期届满", null=True, blank=True)
    ended_on = models.DateField("提前卸任日期", null=True, blank=True)
    filing_date = models.DateField("登记管理机关备案日期", null=True, blank=True)
    filing_number = models.CharField("备案文号", max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "职务"
        verbose_name_plural = "职务"
        indexes = [models.Index(fields=["unit_path", "kind"], name="mship_position_scope")]
        constraints = [
            models.CheckConstraint(
                condition=Q(term_end__isnull=True) | Q(term_end__gte=models.F("term_start")),
                name="mship_position_term_order",
            )
        ]

    def __str__(self):
        return self.get_kind_display()


class MembershipSettings(AssociationOwned):
    """Rules of one association's membership work that its charter fixes (H-MEM-2).

    An association without a row uses the defaults: a board vote counts only when two thirds of
    the board members entitled to vote have voted (the model charter for social organisations:
    理事会须有 2/3 以上理事出席方能召开).
    """

    DEFAULT_QUORUM = (2, 3)

    vote_quorum_numerator = models.PositiveSmallIntegerField("表决法定人数（分子）", default=2)
    vote_quorum_denominator = models.PositiveSmallIntegerField("表决法定人数（分母）", default=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "协会会员工作设置"
        verbose_name_plural = "协会会员工作设置"
        constraints = [
            models.UniqueConstraint(fields=["association"], name="mship_settings_unique"),
            models.CheckConstraint(
                condition=Q(vote_quorum_numerator__gte=1)
                & Q(vote_quorum_denominator__gte=1)
                & Q(vote_quorum_numerator__lte=models.F("vote_quorum_denominator")),
                name="mship_settings_quorum_fraction",
            ),
        ]

    def __str__(self):
        return f"协会会员工作设置 #{self.pk}"


class DuesRate(AssociationOwned):
    """The yearly dues of a tier in an association (会费标准)."""

    year = models.PositiveSmallIntegerField("年度")
    tier = models.CharField("会员类别", max_length=20, choices=Tier.choices)
    amount = models.DecimalField("金额（元）", max_digits=8, decimal_places=2)

    class Meta:
        verbose_name = "会费标准"
        verbose_name_plural = "会费标准"
        constraints = [
            models.UniqueConstraint(fields=["association", "year", "tier"], name="mship_rate_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="mship_rate_not_negative"),
        ]

    def __str__(self):
        return f"{self.year} 年{self.get_tier_display()}会费"


class DuesPayment(AssociationOwned):
    """One line of the dues ledger (会费缴纳台帐): member, year, amount, receipt number."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="payments", verbose_name="会员")
    year = models.PositiveSmallIntegerField("会费年度")
    amount = models.DecimalField("金额（元）", max_digits=8, decimal_places=2)
    paid_on = models.DateField("缴费日期")
    method = models.CharField("缴费方式", max_length=20, choices=DuesMethod.choices)
    receipt_number = models.CharField("收据编号", max_length=40)
    # A second payment for the same member and year is a supplement (补缴), with its reason (H-MEM-3).
    is_supplement = models.BooleanField("补缴", default=False)
    supplement_reason = models.CharField("补缴原因", max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "会费缴纳记录"
        verbose_name_plural = "会费缴纳记录"
        indexes = [models.Index(fields=["unit_path", "year", "member"], name="mship_dues_year")]
        constraints = [
            models.UniqueConstraint(fields=["association", "receipt_number"], name="mship_receipt_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="mship_payment_positive"),
        ]

    def __str__(self):
        return f"会费收据 {self.receipt_number}"


class EthicsComplaint(VaultModel, AssociationOwned):
    """An ethics complaint against a member (H-SVC-5), registered and then decided."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="complaints", verbose_name="被投诉会员")
    complainant = EncryptedCharField("投诉人", max_length=50)
    complainant_contact = EncryptedCharField("投诉人联系方式", max_length=50, blank=True)
    principle = models.CharField("涉及伦理原则", max_length=20, choices=EthicsPrinciple.choices)
    description = EncryptedTextField("投诉内容")
    received_on = models.DateField("收到日期")
    status = models.CharField("状态", max_length=20, choices=ComplaintStatus.choices, default=ComplaintStatus.RECEIVED)
    decision = EncryptedTextField("处理结论", blank=True)
    decided_on = models.DateField("处理日期", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "伦理投诉"
        verbose_name_plural = "伦理投诉"

    def __str__(self):
        return f"伦理投诉 #{self.pk}"


class ConductRecord(AssociationOwned):
    """An assessment, reward or sanction of a member (考核与奖惩, H-MEM-6)."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="conduct", verbose_name="会员")
    kind = models.CharField("类别", max_length=20, choices=ConductKind.choices)
    title = models.CharField("事项", max_length=100)
    detail = models.TextField("说明", blank=True)
    decided_on = models.DateField("决定日期")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "考核奖惩记录"
        verbose_name_plural = "考核奖惩记录"

    def __str__(self):
        return f"{self.get_kind_display()}：{self.title}"


class Revocation(AssociationOwned):
    """Loss of membership (H-MEM-5): the board or standing board's recorded vote and its reason."""

    member = models.OneToOneField(Member, on_delete=models.PROTECT, related_name="revocation")
    body = models.ForeignKey(Body, on_delete=models.PROTECT, related_name="+", verbose_name="表决机构")
    reason = models.CharField("撤销事由", max_length=30, choices=RevocationReason.choices)
    complaint = models.ForeignKey(
        EthicsComplaint, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="所依据的投诉"
    )
    meeting_date = models.DateField("表决日期")
    resolution_number = models.CharField("决议文号", max_length=50)
    votes_for = models.PositiveIntegerField("同意票")
    votes_against = models.PositiveIntegerField("反对票")
    votes_abstain = models.PositiveIntegerField("弃权票")
    detail = models.TextField("情况说明")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "撤销会员资格"
        verbose_name_plural = "撤销会员资格"

    def __str__(self):
        return f"撤销会员资格 #{self.pk}"
