"""Developer comforts around the mock: scenario control, simulated network conditions, the request journal,
the landing page and the command line. `tools.install(app, context)` wires them into an app.

Deliberately import-free: `mocks.config` reads its environment values with `mocks.values`.
"""
