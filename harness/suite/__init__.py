"""The conformance suite shipped in the package (issue 11 item 3, docs/suite.md).

Runnable as ``pytest --pyargs harness.suite --target embedded|FILE --guide DIR`` and by
``smartpbx-harness run``. For every tenant it is given it runs every flow of
:mod:`harness.flows` (``test_manual.py``) and the behaviour checks derived from the tenant's own
settings plus the tenant folder's ``scenarios/*.yaml`` (``test_behaviour.py``), each compared
with the reference model. :mod:`harness.suite.derive` says which checks a tenant implies;
:mod:`harness.suite.verdicts` how outcomes map to verdicts.
"""
