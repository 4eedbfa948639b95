from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import services


@db_task(retries=0)
def build_export_task(job_id: int, *_legacy):
    """Build one export archive in the background worker.

    Only the job's id travels through the queue; the password waits encrypted on the job.
    ``_legacy`` swallows the password argument of tasks queued before issue 14 (it is not used:
    such a job fails with "请重新申请导出" because its row holds no password).
    """
    services.build_export(job_id)


@db_periodic_task(crontab(minute="17", hour="*"))
def purge_expired_exports():
    """Hourly: delete export archives past their retention."""
    return services.purge_expired()
