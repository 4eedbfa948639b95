from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import services


@db_task(retries=0)
def build_export_task(job_id: int, password: str):
    """Build one export archive in the background worker."""
    services.build_export(job_id, password)


@db_periodic_task(crontab(minute="17", hour="*"))
def purge_expired_exports():
    """Hourly: delete export archives past their retention."""
    return services.purge_expired()
