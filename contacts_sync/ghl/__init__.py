"""HighLevel client on top of apiclient/: OAuth, the GHL error tree, resources, paging; no ORM, no Celery."""
