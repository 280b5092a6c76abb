"""The request path: errors, credentials, validation, compiled plans, guards."""
