"""Blueprints by resource; ``webapi.BLUEPRINTS`` is the table the app factory registers."""
