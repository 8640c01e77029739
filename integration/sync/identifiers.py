"""Identifiers that tell a Kleer record and an existing HubSpot record apart as the same company or product.

Swedish organisation numbers are written many ways (`556899-5681`, `5568995681`, the VAT form
`SE556899568101`, the 12-digit form with the century `16556899-5681`); `orgno_key` reduces each to its ten
digits, or None when it is not a valid number (Skatteverket's format: ten digits, the last a Luhn check digit,
https://www.skatteverket.se/foretag/drivaforetag/startaochregistrera/organisationsnummer). Domains come from an
e-mail address or a website and are compared without scheme, `www.`, port or path; a free-mail domain says
nothing about which company a client is, so it is never a key.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = [
    "FREE_MAIL_DOMAINS",
    "domain_key",
    "domain_of_email",
    "domain_of_website",
    "orgno_display",
    "orgno_key",
    "orgno_variants",
]

# The century prefixes a 12-digit form may carry: 16 for legal persons, 18/19/20 for a sole trader's personal
# identity number.
CENTURIES = ("16", "18", "19", "20")
VAT_SUFFIX = "01"  # the Swedish VAT number is SE + the organisation number + 01

# Mailbox providers whose domain many unrelated clients share (Swedish ISPs included).
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "aol.com",
        "bredband.net",
        "bredband2.com",
        "comhem.se",
        "fastmail.com",
        "glocalnet.net",
        "gmail.com",
        "gmx.com",
        "gmx.net",
        "googlemail.com",
        "home.se",
        "hotmail.com",
        "hotmail.se",
        "icloud.com",
        "live.com",
        "live.se",
        "mac.com",
        "mail.com",
        "me.com",
        "msn.com",
        "outlook.com",
        "outlook.se",
        "passagen.se",
        "proton.me",
        "protonmail.com",
        "spray.se",
        "tele2.se",
        "telia.com",
        "telia.se",
        "yahoo.com",
        "yahoo.se",
        "yandex.com",
    }
)

_SEPARATORS = re.compile(r"[\s\-+]")
_LABEL = re.compile(r"^(?!-)[a-z0-9\u00c0-\u024f-]{1,63}(?<!-)$")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(digits[:9]):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10 == int(digits[9])


def orgno_key(value: str | None) -> str | None:
    """The ten digits of a Swedish organisation (or personal identity) number, or None when `value` is not one."""
    if not value:
        return None
    text = _SEPARATORS.sub("", str(value)).upper()
    if text.startswith("SE"):
        if len(text) != 14 or not text.endswith(VAT_SUFFIX):
            return None
        text = text[2:12]
    elif len(text) == 12 and text[:2] in CENTURIES:
        text = text[2:]
    if len(text) != 10 or not text.isascii() or not text.isdigit():
        return None
    return text if _luhn_ok(text) else None


def orgno_variants(key: str) -> list[str]:
    """The spellings of one organisation number a HubSpot property may hold, in lower case (search's IN filter
    compares string values given in lower case: https://developers.hubspot.com/docs/api-reference/search/guide)."""
    dashed = f"{key[:6]}-{key[6:]}"
    return [key, dashed, f"se{key}{VAT_SUFFIX}", f"16{key}", f"16{dashed}"]


def orgno_display(key: str) -> str:
    return f"{key[:6]}-{key[6:]}"


def _host_key(host: str) -> str | None:
    host = host.strip().lower().rstrip(".").removeprefix("www.")
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return None
    return host


def domain_of_email(value: str | None) -> str | None:
    """The domain of an e-mail address (lower case, without `www.`), or None."""
    if not value or value.count("@") != 1:
        return None
    local, host = value.strip().split("@")
    return _host_key(host) if local else None


def domain_of_website(value: str | None) -> str | None:
    """The host of a website address without scheme, `www.`, port or path, or None."""
    text = (value or "").strip()
    if not text or " " in text:
        return None
    if "://" not in text:
        text = f"http://{text}"
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return _host_key(host) if host else None


def domain_key(*, email: str | None = None, website: str | None = None) -> str | None:
    """The company domain a client's website (first) or e-mail names; None for free-mail domains."""
    for domain in (domain_of_website(website), domain_of_email(email)):
        if domain and domain not in FREE_MAIL_DOMAINS:
            return domain
    return None
