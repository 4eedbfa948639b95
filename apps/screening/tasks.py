from huey.contrib.djhuey import db_task

from . import importer


@db_task(retries=0)
def import_screening_task(batch_id: int):
    """Validate and import one uploaded screening spreadsheet in the background worker."""
    importer.process_batch(batch_id)
