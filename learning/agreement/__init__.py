"""Inter-annotator agreement: how far annotators agree, measured and stored over time.

* :mod:`~learning.agreement.metrics`: the coefficients over an (N, R) rating matrix (Krippendorff's
  alpha, Fleiss' and Cohen's kappa, percent agreement, per label). Pure numpy, no Django.
* :mod:`~learning.agreement.reports`: every number a project tracks (project, label, annotator
  pair, each annotator against the others), as records. Pure numpy, no Django.
* :mod:`~learning.agreement.service`: the job's database seam: load the annotations in bulk, call
  the report, store the records.

The Celery beat entry point is ``learning.tasks.enqueue_agreement_jobs``. Two neighbours stay in
``annotation`` because the queue and the dashboard read them without importing ``learning``: the
per-item majority share that decides adaptive overlap (``annotation.item_label``, used by
``annotation.services.overlap``) and the selectors that read the stored records
(``annotation.agreement_selectors``).

This file imports nothing, so importing the pure modules never loads Django.
"""
