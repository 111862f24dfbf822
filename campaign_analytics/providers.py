"""Mailbox provider of a recipient address (SPEC 11.12), derived from its domain."""

from __future__ import annotations

from .models.vocabulary import MailboxProvider

_EXACT = {
    "gmail.com": MailboxProvider.GMAIL,
    "googlemail.com": MailboxProvider.GMAIL,
    "outlook.com": MailboxProvider.OUTLOOK,
    "msn.com": MailboxProvider.OUTLOOK,
    "ymail.com": MailboxProvider.YAHOO,
    "icloud.com": MailboxProvider.ICLOUD,
    "me.com": MailboxProvider.ICLOUD,
    "mac.com": MailboxProvider.ICLOUD,
}
# Country variants: hotmail.co.uk, live.fr, yahoo.co.jp ...
_FIRST_LABEL = {
    "hotmail": MailboxProvider.OUTLOOK,
    "live": MailboxProvider.OUTLOOK,
    "yahoo": MailboxProvider.YAHOO,
}


def mailbox_provider(address: str | None) -> MailboxProvider:
    if not address or "@" not in address:
        return MailboxProvider.OTHER
    domain = address.rsplit("@", 1)[1].strip().lower().rstrip(".")
    if domain in _EXACT:
        return _EXACT[domain]
    return _FIRST_LABEL.get(domain.split(".", 1)[0], MailboxProvider.OTHER)
