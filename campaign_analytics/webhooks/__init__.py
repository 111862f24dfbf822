"""Webhooks: workspaces subscribe a URL to job outcomes (``export.completed``, …); each
outcome becomes a signed delivery, POSTed by the maintenance queue's delivery tick and
retried with exponential backoff for about a day. See docs/webhooks.md.

* ``events``: the event types, the frozen payload, enqueueing in the job's own transaction;
* ``subscriptions``: create, read, change, delete a webhook, rotate its secret;
* ``keys``: the signing secret, its generation and its encryption at rest;
* ``signing``: the Standard Webhooks headers of one attempt;
* ``addresses``: which URLs may be called (no loopback, private, link-local …);
* ``delivery``: claiming due deliveries, POSTing them, recording each attempt.
"""
