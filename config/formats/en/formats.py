"""Date and time display in English: the same ISO forms as Swedish (FORMAT_MODULE_PATH, settings/base.py).

One format on the settings page and in the admin: ISO date, 24 h clock, and the time zone's abbreviation
("2026-03-14 09:05 CET"), so nobody has to guess whether 02:00 is a.m., p.m., UTC or local time.
Reference: https://docs.djangoproject.com/en/5.2/topics/i18n/formatting/#creating-custom-format-files
"""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
