"""Monitoring a labeling project, framework-free: arrays in, numbers out.

- :mod:`.stopping`: has the model stopped changing? (kappa between successive versions on a
  fixed stop set, and the bound it implies on the change in F).
- :mod:`.forecast`: how many labels does a target need? (inverse power law learning curve).
- :mod:`.drift`: has the incoming data, the label mix or an annotator changed?

The Django seam (stop set, kappas on model versions, the stats sections) is
``learning.services.monitoring``.
"""
