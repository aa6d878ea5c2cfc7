"""The suite's own scheduling: tests that share an expensive fixture are one worker's.

``tests/conftest.py`` names the groups by node id (``WORKER_GROUPS``); a test that comes
to use the demo's runs or the fault table without being in their group would make every
worker run them again, and a group prefix that names no test is stale.
"""

from __future__ import annotations

import pytest

from .conftest import WORKER_GROUPS, worker_group

# Session-wide fixtures only: a module's own fixture (the fault table's ``outcomes``) can
# be used by its module alone, which its group names whole.
SHARED_FIXTURES = {"demo_runs": "demo"}


def test_every_user_of_a_shared_fixture_is_in_its_group(request: pytest.FixtureRequest) -> None:
    items = request.session.items
    misplaced = [
        f"{item.nodeid} uses {name} but is scheduled as {worker_group(item.nodeid)!r}"
        for item in items
        for name, group in SHARED_FIXTURES.items()
        if name in getattr(item, "fixturenames", ()) and worker_group(item.nodeid) != group
    ]
    assert misplaced == []


def test_every_group_prefix_names_a_test(request: pytest.FixtureRequest) -> None:
    if len(request.session.items) < 1000:
        return  # a partial run (-k, one file): not every group's tests were collected
    ids = [item.nodeid for item in request.session.items]
    stale = [
        prefix
        for prefixes in WORKER_GROUPS.values()
        for prefix in prefixes
        if not any(nodeid.startswith(prefix) for nodeid in ids)
    ]
    assert stale == []
