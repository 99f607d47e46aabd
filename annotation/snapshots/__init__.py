"""Curated, versioned dataset snapshots: the spec, the rows, the file writers, the lineage.

The service (``annotation.services.snapshots``) ties them together; these modules
know nothing about HTTP or Celery.
"""
