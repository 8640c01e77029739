"""The admin fixtures (staff clients, portals, the fake Kleer check, captured enqueues) for the fuzz tests."""

from tests.admin.conftest import (  # noqa: F401 (fixtures)
    database_rate_limits,
    enqueued,
    kleer_check,
    ops_client,
    ops_user,
    support_client,
    support_user,
)
