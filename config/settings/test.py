"""Test settings: the base settings plus what only tests need.

DATABASE_URL decides the database (PostgreSQL in CI); the Makefile picks a throwaway PostgreSQL when one is
reachable and falls back to SQLite otherwise.
"""

import os

# The tests run the development configuration (base.py's DEBUG defaults to off); Django's test runner still
# serves pages with DEBUG off.
os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: F403
from .base import env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
SANDBOX_ENABLED = True
# Tests must not depend on the developer's Redis unless they ask for it (see tests/conftest.py).
REDIS_URL = env.str("TEST_REDIS_URL", default="")
# Retries back off from 20 ms instead of 1 s: tests that exhaust retries on purpose stay fast. Tests of the
# backoff itself pass their own RetryPolicy.
HTTP_RETRY_BASE_DELAY = env.float("HTTP_RETRY_BASE_DELAY", default=0.02)
if REDIS_URL and os.environ.get("PYTEST_XDIST_WORKER", "").startswith("gw"):
    # One Redis database per xdist worker (gw0 → TEST_REDIS_URL's, gw1 → the one below, …): each worker has
    # its own test database, so hub ids repeat across workers, and a shared Redis would mix their rate-limit
    # windows and their Celery queues.
    _base, _, _db = REDIS_URL.rpartition("/")
    REDIS_URL = f"{_base}/{(int(_db or 0) - int(os.environ['PYTEST_XDIST_WORKER'][2:])) % 16}"
# One batch call at a time: tests script faults for the n-th call and read the request log in order. The
# concurrent path has its own tests (tests/integration/sync/test_batching.py).
HUBSPOT_CONCURRENCY = env.int("HUBSPOT_CONCURRENCY", default=1)
TEST_REDIS_URL = REDIS_URL  # what tests that need Redis use, even where a fixture blanks REDIS_URL
