"""Changing an appointment: the new start cannot be in the past."""

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.utils import timezone

from apps.appointments import services
from apps.appointments.choices import Status
from apps.appointments.models import BookedSlot

from .conftest import booking

pytestmark = pytest.mark.django_db


def test_change_to_a_past_start_is_refused(tree, counsellor_a, monday_10):
    """S-FLOW-1, S-FLOW-2: an appointment cannot be moved to a time that has already passed; the
    booking and its held hours stay as they were."""
    appointment = services.do_book_appointment(actor=counsellor_a, unit=tree.c1, data=booking(counsellor_a, monday_10))
    past = datetime(2025, 1, 1, 10, tzinfo=timezone.get_current_timezone())
    with pytest.raises(ValidationError, match="已经过去"):
        services.do_change_appointment(actor=counsellor_a, appointment=appointment, starts_at=past, reason="改期")
    earlier_today = timezone.localtime().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    with pytest.raises(ValidationError, match="已经过去"):
        services.do_change_appointment(
            actor=counsellor_a, appointment=appointment, starts_at=earlier_today, reason="改期"
        )
    appointment.refresh_from_db()
    assert appointment.starts_at == monday_10 and appointment.status == Status.CONFIRMED
    assert list(BookedSlot.objects.filter(appointment=appointment).values_list("slot_start", flat=True)) == [monday_10]
    http = HttpClient()
    http.force_login(counsellor_a)
    response = http.post(f"/appointments/{appointment.pk}/change/", {"starts_at": "2025-01-01T10:00", "reason": "改期"})
    assert response.status_code == 200 and "已经过去" in response.content.decode()
    later = monday_10 + timedelta(days=1)
    services.do_change_appointment(actor=counsellor_a, appointment=appointment, starts_at=later, reason="改期")
