"""smartpbx-harness: the Arcstar Smart PBX onboarding manual as executable specs.

Packages (see docs/architecture.md and ../shared/DESIGN.md for what each may import):

- ``harness.guide``  ご利用内容 / 設定 documents: schema, loading, validation errors
- ``harness.model``  reference PBX model (pure timelines in simulated seconds)
- ``harness.sip``    sans-IO SIP core, transports, virtual phones, SIPp driver
- ``harness.sim``    embedded simulator of the service (SIP + web + mail)
- ``harness.web``    Playwright page objects
- ``harness.flows``  the manual's steps as code
- ``harness.report`` compliance matrix and Allure helpers
- ``harness.clock``  the scaled ``Clock`` every service timer goes through (stdlib only, a leaf
  that every package may import)
- ``harness.errors`` the typed failures shared by all packages (stdlib only, a leaf)
"""

__version__ = "0.1.0"
