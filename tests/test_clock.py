"""The demo data and the pages survive any instant (issue 12, item 1; X-1).

``seed_demo`` builds every record through the services at the moment it runs, so a rule that
refuses what the demo plans (a reschedule to an hour already past, a closed appointment still in
the future, a deadline into a year the holiday calendar does not know) breaks ``make run`` at some
hours only. Here the clock is frozen (time-machine) at 00:00, 08:59, 14:01 and 23:59 Beijing time,
on a year's last day (2026-12-31, the last day chinesecalendar 1.11 knows) and on a leap day
(2028-02-29, a year it does not know); each instant seeds the whole demo (both halves: every
module's demo) and crawls the pages a few clicks deep as every demo login.

Cost (CPU seconds on SQLite, measured): the whole seed ~16 s per instant, the menu pages of all 19
logins ~7 s, one click further ~14 s. So every instant seeds everything and opens every login's
home and menu pages; the 23:59 instants (the minute before the next day, and on 12-31 the next
year) also follow the links on them, one page per route (tests/smoke.py). About 3 CPU minutes.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from apps.core.management.commands.seed_demo import DEMO_ROOT_CODE
from apps.orgs.models import OrgUnit
from tests.smoke import crawl_demo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAYS = ("2026-12-31", "2028-02-29")
HOURS = ("00:00", "08:59", "14:01", "23:59")
INSTANTS = [f"{day} {hour}" for day in DAYS for hour in HOURS]


@pytest.mark.django_db
@pytest.mark.parametrize("instant", INSTANTS)
def test_seed_demo_and_crawl_at_awkward_instants(instant):
    """X-1, issue 12 item 1: seed_demo and the demo crawl at 00:00/08:59/14:01/23:59 on 12-31 and 02-29."""
    moment = dt.datetime.fromisoformat(instant).replace(tzinfo=SHANGHAI)
    with time_machine.travel(moment, tick=False):
        assert timezone.localtime().strftime("%Y-%m-%d %H:%M") == instant  # the freeze reaches Django
        call_command("seed_demo")
        assert OrgUnit.objects.filter(code=DEMO_ROOT_CODE).exists()
        deep = instant.endswith("23:59")
        failures, requests = crawl_demo(max_depth=1 if deep else 0, per_route=1, max_requests=40)
    assert requests > (400 if deep else 200)  # the crawl really opened pages for every login
    assert not failures, "\n".join(failures)
