"""The rules as SQL: a reason code for every open and click, computed in the refresh's own
statement so the verdict of an event is always that of the events it was counted with.

Codes index ``Rules.reasons``. ``client_sql`` judges an event by what it carries (HTTP
method, user agent and address — each agent and each address judged once by
``clients_sql``);
``click_verdict_sql`` adds the timing rules for clicks, which need the click's message (its
delivery and its first click).
"""

from __future__ import annotations

import ipaddress

from .rules import Rule, Rules

IPV4 = r"'^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$'"
OCTETS_OK = " AND ".join(f"split_part(a.ip, '.', {n})::int < 256" for n in range(1, 5))
# An address as numbers, computed once per address (OFFSET 0 keeps PostgreSQL from copying
# the expressions into every rule that reads them). An IPv4-mapped IPv6 address
# (``::ffff:17.58.1.1``, as dual-stack servers log it) is its IPv4 address; text that is no
# address gives NULLs (the regular expression guarantees the casts cannot fail).
ADDRESS = f"""CROSS JOIN LATERAL (
    SELECT CASE WHEN a.ip ~ {IPV4} AND {OCTETS_OK} THEN
                (split_part(a.ip, '.', 1)::bigint << 24) + (split_part(a.ip, '.', 2)::bigint << 16)
              + (split_part(a.ip, '.', 3)::bigint << 8) + split_part(a.ip, '.', 4)::bigint
           END AS v4,
           CASE WHEN strpos(a.ip, ':') > 0 THEN
                ltrim(lower(split_part(a.ip, ':', 1)), '0') || ':'
             || ltrim(lower(split_part(a.ip, ':', 2)), '0')
           END AS v6
    FROM (SELECT CASE WHEN lower(left(e.ip, 7)) = '::ffff:' THEN substr(e.ip, 8)
                      ELSE e.ip END AS ip) a
    OFFSET 0) address"""


def quote(text: str) -> str:
    """A SQL string literal; ``:`` escaped, or SQLAlchemy's ``text()`` reads a parameter."""
    return "'" + text.replace("'", "''").replace(":", "\\:") + "'"


def _network_test(rule: Rule) -> str:
    network = ipaddress.ip_network(rule.match)
    if network.version == 4:
        low, high = int(network.network_address), int(network.broadcast_address)
        return f"address.v4 BETWEEN {low} AND {high}"
    hextets = network.exploded.split(":")
    head = [hextets[0].lstrip("0"), hextets[1].lstrip("0") if network.prefixlen > 16 else None]
    if head[1] is None:
        return f"split_part(address.v6, ':', 1) = {quote(head[0])}"
    return f"address.v6 = {quote(head[0] + ':' + head[1])}"


def _network_case(rules: Rules, kind: str) -> str:
    """The code of the first network rule for events of ``kind`` that ``address`` is in."""
    cases = " ".join(f"WHEN {_network_test(rule)} THEN {rules.code(rule.reason)}"
                     for rule in rules.networks if kind in rule.applies_to)
    return f"CASE {cases} END" if cases else "NULL::int"


def _agent_case(rules: Rules, kind: str) -> str:
    """The code of the first agent rule for events of ``kind`` that ``user_agent`` matches;
    one alternation first, since most user agents match none."""
    cases = " ".join(f"WHEN user_agent ~* {quote(rule.match)} THEN {rules.code(rule.reason)}"
                     for rule in rules.agents if kind in rule.applies_to)
    if not cases:
        return "NULL::int"
    prefilter = "|".join(f"({rule.match})" for rule in rules.agents)
    return f"CASE WHEN user_agent ~* {quote(prefilter)} THEN CASE {cases} END END"


def clients_sql(rules: Rules, clients: str) -> str:
    """A temp table ``refresh_clients``: each distinct (user agent, address) pair of
    ``clients`` (a query of ``user_agent`` and ``ip`` columns), NULLs as empty text, with
    the code of its first agent rule, else of its first network rule, for opens and for
    clicks. A regular expression costs tens of microseconds and reading an address a few:
    user agents, addresses and their pairs are few beside events, so each agent and each
    address is judged once and every event joins its pair."""
    return f"""
CREATE TEMP TABLE refresh_clients ON COMMIT DROP AS
WITH pairs AS MATERIALIZED (
    SELECT DISTINCT user_agent, ip FROM ({clients}) c
    WHERE user_agent IS NOT NULL OR ip IS NOT NULL
),
agents AS (
    SELECT user_agent, {_agent_case(rules, "opened")} AS opened,
           {_agent_case(rules, "clicked")} AS clicked
    FROM (SELECT DISTINCT user_agent FROM pairs WHERE user_agent IS NOT NULL) a
),
addresses AS (
    SELECT e.ip, {_network_case(rules, "opened")} AS opened,
           {_network_case(rules, "clicked")} AS clicked
    FROM (SELECT DISTINCT ip FROM pairs WHERE ip IS NOT NULL) e
    {ADDRESS}
)
SELECT coalesce(p.user_agent, '') AS user_agent, coalesce(p.ip, '') AS ip,
       coalesce(agent.opened, address.opened) AS opened,
       coalesce(agent.clicked, address.clicked) AS clicked
FROM pairs p
LEFT JOIN agents agent ON agent.user_agent = p.user_agent
LEFT JOIN addresses address ON address.ip = p.ip"""


# Joins each event to its pair's judgement (``clients_sql``).
CLIENTS = """LEFT JOIN refresh_clients client ON client.user_agent = coalesce(e.user_agent, '')
                                      AND client.ip = coalesce(e.ip, '')"""


def client_sql(rules: Rules, e: str = "e") -> str:
    """The reason code of an open or click from what it carries; NULL for other events.
    Needs ``CLIENTS`` joined as ``client``."""
    by_rules = f"CASE {e}.type WHEN 'opened' THEN client.opened ELSE client.clicked END"
    anything = (f"CASE WHEN {e}.user_agent IS NOT NULL OR {e}.ip IS NOT NULL "
                f"THEN {rules.code('person')} ELSE {rules.code('no_client_data')} END")
    head = f"CASE WHEN upper({e}.http_method) = 'HEAD' THEN {rules.code('head_request')} END"
    return (f"CASE WHEN {e}.type IN ('opened', 'clicked') THEN "
            f"coalesce({head}, {by_rules}, {anything}) END")


def link_sql(e: str = "e") -> str:
    """Which link a click followed, as a number: enough to count a message's links."""
    return f"CASE WHEN {e}.type = 'clicked' THEN hashtext(coalesce({e}.url, '')) END"


def click_verdict_sql(rules: Rules, click: str = "c", burst: str = "b") -> str:
    """The final reason code of a click: what it carries, else the timing rules (an open's
    is what it carries). ``click`` also has its message's firsts ``sent``, ``delivered`` and
    ``clicked``; ``burst.several_links`` says whether more than one link was clicked within
    the window after the first click (NULL: no burst row)."""
    undecided = f"{click}.client IN ({rules.code('person')}, {rules.code('no_client_data')})"
    too_fast = (f"{click}.occurred_at < coalesce({click}.delivered, {click}.sent) "
                f"+ make_interval(secs => {rules.click_too_fast_seconds})")
    at_once = (f"{burst}.several_links AND {click}.occurred_at < {click}.clicked "
               f"+ make_interval(secs => {rules.links_at_once_seconds})")
    return (f"CASE WHEN NOT ({undecided}) THEN {click}.client "
            f"WHEN {too_fast} THEN {rules.code('too_fast')} "
            f"WHEN {at_once} THEN {rules.code('all_links_at_once')} "
            f"ELSE {click}.client END")


def codes(rules: Rules, verdict: str) -> str:
    """The reason codes of a verdict, as a SQL list."""
    return ", ".join(str(code) for code, (_, given) in enumerate(rules.reasons)
                     if given == verdict)

