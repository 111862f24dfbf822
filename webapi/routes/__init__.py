"""Blueprints by resource; ``ROUTES`` is the table the app factory registers."""
