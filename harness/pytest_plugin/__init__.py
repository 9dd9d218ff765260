"""pytest plugin of smartpbx-harness (registered through the ``pytest11`` entry point).

Fixtures and hooks live in modules of this package, one per area (compliance matrix, real SIP
peers, virtual phones, the simulator, the browser), listed in ``pytest_plugins`` below so that
pytest loads them with the plugin. Session scope for the simulator and the browser, function
scope for phones and pages; factory fixtures close what they open (../shared/STYLE.md §10).
"""

from __future__ import annotations

pytest_plugins: list[str] = [
    "harness.pytest_plugin.compliance",
    "harness.pytest_plugin.peers",
    "harness.pytest_plugin.phones",
    "harness.pytest_plugin.sim",
    "harness.pytest_plugin.browser",
    "harness.pytest_plugin.suite",
]
