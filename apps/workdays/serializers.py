"""The API side of stored deadlines: every module shows an estimated deadline the same way.

A serializer of a record with a stored working-day deadline inherits ``EstimatedDeadlineMixin``, names
the date field in ``deadline_field`` and adds ``ESTIMATE_FIELDS`` to ``Meta.fields``::

    class InquirySerializer(EstimatedDeadlineMixin, serializers.ModelSerializer):
        deadline_field = "reply_due"

        class Meta:
            fields = [..., "reply_due", *ESTIMATE_FIELDS]

The response then carries ``deadline_estimated`` (true when the deadline counted through a year whose
holidays nobody has entered) and ``deadline_estimate_reason`` ("2027 年节假日尚未录入", empty otherwise).
"""

from rest_framework import serializers

from .deadlines import estimated_field, reason_field

ESTIMATE_FIELDS = ("deadline_estimated", "deadline_estimate_reason")


class EstimatedDeadlineMixin(serializers.Serializer):
    deadline_field = ""

    deadline_estimated = serializers.SerializerMethodField(help_text="期限是否为预估（所跨年份的节假日尚未录入）")
    deadline_estimate_reason = serializers.SerializerMethodField(
        help_text="期限为预估的原因，如“2027 年节假日尚未录入”"
    )

    def get_deadline_estimated(self, obj) -> bool:
        return bool(getattr(obj, estimated_field(self.deadline_field), False))

    def get_deadline_estimate_reason(self, obj) -> str:
        return getattr(obj, reason_field(self.deadline_field), "") or ""
