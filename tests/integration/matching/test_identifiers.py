"""Organisation numbers and domains reduce to one key per company, or to None."""

from __future__ import annotations

import pytest

from integration.sync.identifiers import (
    FREE_MAIL_DOMAINS,
    domain_key,
    domain_of_email,
    domain_of_website,
    orgno_display,
    orgno_key,
    orgno_variants,
)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("556899-5681", "5568995681"),
        ("5568995681", "5568995681"),
        ("SE556899568101", "5568995681"),
        ("se556899568101", "5568995681"),
        ("SE 5568995681 01", "5568995681"),
        ("16556899-5681", "5568995681"),
        ("165568995681", "5568995681"),
        (" 556899 5681 ", "5568995681"),
        ("556677-8899", "5566778899"),
        ("19800101-0001", "8001010001"),  # a sole trader's personal identity number, with century
        ("800101+0001", "8001010001"),  # "+" marks a person over 100 years old
        ("556899-5682", None),  # wrong check digit
        ("SE556899568102", None),  # the VAT form always ends in 01
        ("SE5568995681", None),
        ("15556899-5681", None),  # no such century prefix
        ("55689956", None),
        ("556899-568１", None),  # a full-width digit is not an ASCII digit
        ("abcdef-ghij", None),
        ("", None),
        (None, None),
    ],
)
def test_orgno_key(raw, key):
    assert orgno_key(raw) == key


def test_orgno_variants_are_the_spellings_a_crm_holds_each_reducing_to_the_key():
    variants = orgno_variants("5568995681")
    assert variants == ["5568995681", "556899-5681", "se556899568101", "165568995681", "16556899-5681"]
    assert {orgno_key(v) for v in variants} == {"5568995681"}
    assert orgno_display("5568995681") == "556899-5681"


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("info@Example.SE", "example.se"),
        ("anna@www.example.se", "example.se"),
        ("faktura@ekonomi.example.se", "ekonomi.example.se"),
        ("anna@exempel-åäö.se", "exempel-åäö.se"),
        ("no-at-sign.example.se", None),
        ("a@b@example.se", None),
        ("@example.se", None),
        ("anna@localhost", None),
        ("anna@10.0.0.1", None),
        ("", None),
        (None, None),
    ],
)
def test_domain_of_email(email, domain):
    assert domain_of_email(email) == domain


@pytest.mark.parametrize(
    ("website", "domain"),
    [
        ("https://www.Example.se/om-oss?x=1", "example.se"),
        ("http://example.se:8080", "example.se"),
        ("www.example.se", "example.se"),
        ("example.se/", "example.se"),
        ("HTTPS://SHOP.EXAMPLE.SE.", "shop.example.se"),
        ("not a website", None),
        ("https://", None),
        ("", None),
    ],
)
def test_domain_of_website(website, domain):
    assert domain_of_website(website) == domain


@pytest.mark.parametrize(
    ("email", "website", "key"),
    [
        ("anna@example.se", None, "example.se"),
        ("anna@gmail.com", None, None),
        ("anna@Hotmail.com", None, None),
        ("anna@live.se", None, None),
        ("anna@telia.com", "https://www.byggfirman.se", "byggfirman.se"),  # the website wins
        ("anna@example.se", "https://www.gmail.com", "example.se"),
        (None, None, None),
    ],
)
def test_domain_key_excludes_free_mail(email, website, key):
    assert domain_key(email=email, website=website) == key


def test_free_mail_list_is_lower_case_domains():
    assert {"gmail.com", "hotmail.com", "outlook.com", "live.se", "yahoo.com", "icloud.com", "telia.com"} <= (
        FREE_MAIL_DOMAINS
    )
    assert all(d == d.lower() and "." in d for d in FREE_MAIL_DOMAINS)
