from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import importer, services


@db_task(retries=0)
def import_screening_task(batch_id: int):
    """Validate and import one uploaded screening spreadsheet in the background worker."""
    importer.process_batch(batch_id)


@db_periodic_task(crontab(minute="*/5"))
def fail_stale_imports():
    """Every five minutes: imports that stopped without finishing are marked failed (issue 12)."""
    return services.fail_stale_batches()
