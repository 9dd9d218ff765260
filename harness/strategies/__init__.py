"""Hypothesis strategies of the whole value space of DOMAIN.md, in one place.

The project's property tests, the live differential property (``harness.suite.differential``)
and ``smartpbx-harness fuzz`` all draw from here, so a value the harness can generate is a
value every one of them can meet:

- :mod:`.tenants`: valid ご利用内容のご案内 of any numbering (拠点番号 / 端末番号 of 1–11 digits,
  every 端末種別, web accounts, 外線番号) and the model tests' small dense tenants;
- :mod:`.settings`: 設定 consistent with a guide: every group kind with 1–N members and
  呼出時間 given or left out, 外線着信設定 to extensions and pilots, 外線発信設定, every
  不在時動作 option per state with every 呼出時間 / 呼出開始時間 / 呼出終了時間 in range,
  留守番電話 on or off;
- :mod:`.scenarios`: calls on a tenant (who calls whom, 184/186, each endpoint registered /
  unregistered / busy, answer and reject delays, pickups, the caller giving up);
- :mod:`.params`: any combination of the reference model's parameters.

``hypothesis`` is a main dependency (the ``fuzz`` command draws at run time); ``harness.guide``
and ``harness.model`` never import this package (import-linter layers).
"""
