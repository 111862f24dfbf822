"""The words of a generated data set: campaign themes and subjects, people and sites, reply
texts per class, bounce and failure reasons, user agents and addresses of mail clients.

Plain data, so realism can be improved without touching the simulation. The user agents
mimic real clients (Apple Mail Privacy Protection, Gmail's image proxy, link scanners) so
the machine-open and bot-click rules have something true to classify.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models.vocabulary import MailboxProvider, ReplyClass


@dataclass(frozen=True)
class Theme:
    """What a campaign is about: its name, keywords, A/B/C subjects and where its leads come
    from."""

    name: str
    keywords: tuple[str, ...]
    subjects: tuple[str, ...]
    landing_paths: tuple[str, ...]


THEMES: tuple[Theme, ...] = (
    Theme(
        "Tech blogs guest posts",
        ("guest post", "technology", "saas"),
        ("Guest post idea for {site}", "A tech article your readers will like",
         "Quick question about {site}"),
        ("/portfolio", "/case-studies/devtools", "/writers"),
    ),
    Theme(
        "Finance link insertions",
        ("link insertion", "personal finance", "fintech"),
        ("Resource for your budgeting guide", "Adding a data source to {site}",
         "Update for an older post on {site}"),
        ("/research/savings-report", "/data", "/press"),
    ),
    Theme(
        "Travel bloggers outreach",
        ("travel", "blogger outreach", "itineraries"),
        ("Collaboration with {site}?", "A story for your travel readers",
         "Itinerary idea for {site}"),
        ("/destinations", "/media-kit", "/partners"),
    ),
    Theme(
        "SaaS podcast guests",
        ("podcast", "founders", "b2b"),
        ("Guest for your podcast?", "A founder story for {site}", "Podcast pitch: scaling SaaS"),
        ("/speakers", "/episodes", "/about"),
    ),
    Theme(
        "Health & wellness guest posts",
        ("health", "wellness", "guest post"),
        ("Expert article for {site}", "Evidence-based piece for your readers",
         "Contributor request for {site}"),
        ("/experts", "/studies", "/editorial-policy"),
    ),
    Theme(
        "Broken link building - marketing",
        ("broken links", "marketing", "seo"),
        ("Broken link on {site}", "Found a dead link on your resources page",
         "Small fix for {site}"),
        ("/guides/email-marketing", "/templates", "/blog"),
    ),
    Theme(
        "Skyscraper: remote work guide",
        ("remote work", "skyscraper", "hr"),
        ("Updated remote work stats for {site}", "Our 2025 remote work guide",
         "Better source for your remote work post"),
        ("/remote-work-guide", "/survey", "/charts"),
    ),
    Theme(
        "Resource pages - education",
        ("education", "resource page", "edtech"),
        ("Resource for students on {site}", "Free study tool for your list",
         "Suggestion for your resources page"),
        ("/study-planner", "/teachers", "/free-tools"),
    ),
    Theme(
        "Parenting blogs product reviews",
        ("parenting", "product review", "ecommerce"),
        ("Product review for {site}?", "Would your readers test this?",
         "Free sample for {site}"),
        ("/reviews", "/samples", "/shop"),
    ),
    Theme(
        "Local business citations",
        ("local seo", "citations", "directories"),
        ("Listing request for {site}", "Local business for your directory",
         "Adding a listing on {site}"),
        ("/locations", "/about-us", "/reviews"),
    ),
    Theme(
        "Gaming sites link roundups",
        ("gaming", "roundups", "esports"),
        ("For your next gaming roundup", "Indie game pitch for {site}",
         "New release your readers may like"),
        ("/press-kit", "/trailer", "/screenshots"),
    ),
    Theme(
        "Newsletter sponsorships",
        ("newsletter", "sponsorship", "b2b"),
        ("Sponsoring {site}'s newsletter", "Ad slot availability?",
         "Partnership with {site}"),
        ("/sponsors", "/rates", "/audience"),
    ),
)

FIRST_NAMES: tuple[str, ...] = (
    "anna", "ben", "carla", "david", "elena", "felix", "grace", "hugo", "iris", "jonas",
    "kate", "liam", "maria", "noah", "olivia", "paul", "quinn", "rosa", "sam", "tara",
    "umar", "vera", "will", "xenia", "yusuf", "zoe", "amir", "bianca", "chen", "dara",
)
LAST_NAMES: tuple[str, ...] = (
    "smith", "mueller", "garcia", "rossi", "novak", "kim", "patel", "dubois", "silva",
    "jensen", "kowalski", "okafor", "tanaka", "larsen", "moreau", "brown", "fischer",
    "lopez", "nguyen", "haddad",
)
SITE_WORDS: tuple[str, ...] = (
    "tech", "daily", "smart", "green", "money", "travel", "coder", "mama", "fit", "home",
    "urban", "nomad", "pixel", "growth", "wise", "hub", "lab", "nest", "trail", "byte",
    "spark", "craft", "garden", "ledger", "pulse", "summit", "wave", "yield", "zen", "forge",
)
SITE_KINDS: tuple[str, ...] = ("blog", "journal", "magazine", "weekly", "insider", "guide")
SITE_TLDS: tuple[str, ...] = ("com", "com", "com", "net", "org", "io", "co.uk", "de", "blog")
EDITOR_MAILBOXES: tuple[str, ...] = ("editor", "hello", "info", "contact", "team", "partners")

# Consumer mailbox domains by provider, with the share of leads that use each provider;
# the rest ("other") write from their site's own domain.
PROVIDER_DOMAINS: dict[MailboxProvider, tuple[str, ...]] = {
    MailboxProvider.GMAIL: ("gmail.com", "gmail.com", "gmail.com", "googlemail.com"),
    MailboxProvider.OUTLOOK: ("outlook.com", "hotmail.com", "live.com", "hotmail.co.uk"),
    MailboxProvider.YAHOO: ("yahoo.com", "yahoo.co.uk", "ymail.com"),
    MailboxProvider.ICLOUD: ("icloud.com", "me.com", "mac.com"),
}
PROVIDER_SHARES: dict[MailboxProvider, float] = {
    MailboxProvider.GMAIL: 0.36,
    MailboxProvider.OUTLOOK: 0.14,
    MailboxProvider.YAHOO: 0.07,
    MailboxProvider.ICLOUD: 0.08,
    MailboxProvider.OTHER: 0.35,
}

LEAD_SOURCES: tuple[tuple[str, float], ...] = (
    ("google_search", 0.34),
    ("ahrefs_export", 0.22),
    ("competitor_backlinks", 0.16),
    ("csv_import", 0.12),
    ("manual", 0.08),
    ("referral", 0.08),
)

SENDER_DOMAINS: tuple[str, ...] = (
    "brightlinkmedia.com", "outreachhq.io", "getfeatured.co", "linkcraft.agency",
)

# Reply bodies per class. Fields: {name} the lead, {sender} our side, {site}, {date}.
REPLY_TEXTS: dict[ReplyClass, tuple[str, ...]] = {
    ReplyClass.INTERESTED: (
        "Hi {sender},\n\nSounds good. Send me two or three topic ideas and I'll pick one.\n\n"
        "Best,\n{name}",
        "Hey {sender}, yes we accept guest posts on {site}. Our guidelines are attached; "
        "1,200 words minimum, one do-follow link.\n\nCheers, {name}",
        "Thanks for reaching out! This fits our editorial calendar. What's your timeline?\n"
        "{name}",
        "Happy to take a look - please share the draft as a Google Doc.\n\n{name}",
        "Interesting. Can we hop on a quick call next week to discuss?\n\nRegards,\n{name}",
    ),
    ReplyClass.NOT_INTERESTED: (
        "Not interested, thanks.",
        "Please remove me from your list.",
        "We don't accept guest posts or link insertions. Please do not contact us again.",
        "No thank you. Unsubscribe.",
        "Hi {sender}, we're not taking contributions at the moment. Good luck!\n{name}",
    ),
    ReplyClass.OUT_OF_OFFICE: (
        "I am out of the office until {date} with limited access to e-mail. "
        "I will reply when I am back.",
        "Thank you for your message. I'm on parental leave until {date}; for urgent matters "
        "please contact the editorial team.",
        "Automatic reply: I'm travelling this week and will answer after {date}.",
    ),
    ReplyClass.REPLIED: (
        "What are your rates for a sponsored post?",
        "Who is this for? Which site would the link point to?",
        "Can you send some examples of your previous work?",
        "Hi {sender}, I've forwarded this to our content manager.\n\n{name}",
        "We only work with paid placements. Price list attached.",
    ),
}

# (reason, weight). "Domain not found" is only possible for non-consumer domains.
HARD_BOUNCE_REASONS: tuple[tuple[str, float], ...] = (
    ("User unknown", 0.46),
    ("Mailbox disabled", 0.14),
    ("Message rejected as spam", 0.14),
    ("Recipient address rejected: access denied", 0.08),
)
DOMAIN_NOT_FOUND = "Domain not found"
BLOCKLIST_REASON = "Blocked: sending IP listed on Spamhaus"
SOFT_BOUNCE_REASONS: tuple[tuple[str, float], ...] = (
    ("Mailbox full", 0.42),
    ("Rate limited, try again later", 0.22),
    ("Greylisted, please retry", 0.16),
    ("Message too large", 0.06),
    ("Temporary DNS failure", 0.14),
)
FAILURE_REASONS: tuple[tuple[str, float], ...] = (
    ("SMTP connection timed out", 0.4),
    ("Daily sending limit reached", 0.3),
    ("SMTP authentication failed", 0.15),
    ("Invalid recipient syntax", 0.15),
)

APPLE_MPP_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)
GMAIL_PROXY_AGENT = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
YAHOO_PROXY_AGENT = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
DESKTOP_BROWSERS: tuple[str, ...] = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
MOBILE_BROWSERS: tuple[str, ...] = (
    IPHONE_SAFARI,
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36",
)
IPHONE_MAIL = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148"
)
MAIL_CLIENTS: tuple[str, ...] = (
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.10.1",
    IPHONE_MAIL,
)
# Link scanners of corporate mail gateways: they "click" every link seconds after delivery.
SCANNER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/103.0.5060.134 Safari/537.36 (Microsoft Defender for Office 365 Safe Links)",
    "Mozilla/5.0 (compatible; Proofpoint URL Defense)",
    "Mozilla/5.0 (compatible; Mimecast URL Protect)",
    "Barracuda Sentinel (EE)",
)

# First octets of the networks each kind of client opens from; the rest is drawn.
APPLE_PROXY_NETWORKS: tuple[str, ...] = ("17.58.", "17.57.", "17.121.")
GOOGLE_PROXY_NETWORKS: tuple[str, ...] = ("66.249.84.", "66.249.88.", "66.102.8.")
YAHOO_PROXY_NETWORKS: tuple[str, ...] = ("98.137.", "74.6.")
SCANNER_NETWORKS: tuple[str, ...] = ("40.94.", "52.100.", "148.163.", "205.139.")
PEOPLE_NETWORKS: tuple[str, ...] = ("84.", "92.", "109.", "176.", "188.", "73.", "98.", "24.")
SENDER_NETWORKS: tuple[str, ...] = ("203.0.113.", "198.51.100.", "192.0.2.")
