"""Two booking requests for the same counsellor hour, racing on PostgreSQL: exactly one wins (S-FLOW-2)."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client as HttpClient

from apps.appointments.models import BookedSlot
from apps.core.scoping import unscoped

from .conftest import next_weekday, on_duty


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises all writers with one database lock, so requests cannot race; run on PostgreSQL.",
)
def test_concurrent_bookings_of_one_hour_exactly_one_wins(tree, counsellor_a):
    """S-FLOW-2: two API requests on their own connections, released together by a barrier: one 201, one 400."""
    from apps.appointments.models import Appointment, Room

    room_1 = Room.objects.create(unit=tree.c1, unit_path=tree.c1.path, name="一号室")
    room_2 = Room.objects.create(unit=tree.c1, unit_path=tree.c1.path, name="二号室")
    start = next_weekday(1, 14)  # a Tuesday, when C1 is open (default hours) and counsellor_a on duty
    on_duty(tree.c1, counsellor_a, 14, 17, weekdays=[1])
    clients = []
    for _ in range(2):
        web = HttpClient()
        web.force_login(counsellor_a)
        clients.append(web)
    barrier = threading.Barrier(2)
    results = [None, None]

    def request(i, room):
        try:
            body = {
                "unit": tree.c1.pk, "counsellor": counsellor_a.pk, "room": room.pk, "starts_at": start.isoformat(),
                "contact_name": f"并发{i}", "contact_phone": "13912345678", "needs_symptoms": "并发测试",
                "told_service_content_flow_counsellor": True, "told_confidentiality_and_change_cancel": True,
            }  # fmt: skip
            barrier.wait(timeout=10)
            response = clients[i].post("/api/appointments/", body, content_type="application/json")
            results[i] = (response.status_code, response.content.decode())
        finally:
            connections.close_all()

    # Different rooms, same counsellor: only the counsellor's hour collides.
    threads = [threading.Thread(target=request, args=(i, room)) for i, room in enumerate((room_1, room_2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 400], results
    loser = next(content for status, content in results if status == 400)
    assert "该咨询师/咨询室在该时段已有预约" in loser
    with unscoped("test assertion"):
        assert Appointment.objects.count() == 1
    assert BookedSlot.objects.filter(resource_key=f"c:{counsellor_a.pk}").count() == 1
    assert BookedSlot.objects.count() == 2  # the winner's counsellor hour and room hour, nothing of the loser
