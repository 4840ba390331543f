"""Emulators of GHL and every connected app, served by `manage.py sandbox` (see server.py). Test/dev only."""
