"""Serving the app: the ASGI stack around it, Granian/uvicorn, the command line."""
