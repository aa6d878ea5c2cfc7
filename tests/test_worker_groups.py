"""The suite's own scheduling: tests that share an expensive fixture are one worker's.

``tests/conftest.py`` names the groups by node id (``WORKER_GROUPS``); a test that comes
to use the demo's runs or the fault table without being in their group would make every
worker run them again, and a group prefix that names no test is stale.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import pytest

from .conftest import WORKER_GROUPS, interleaved, pytest_xdist_make_scheduler, worker_group

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


def test_every_module_with_a_module_fixture_is_one_group(request: pytest.FixtureRequest) -> None:
    # Spread over the run one test at a time, such a module's tests would each find its
    # fixture torn down for another module's test, and set it up again.
    loose = sorted(
        {
            item.nodeid.partition("::")[0]
            for item in request.session.items
            for defs in item._fixtureinfo.name2fixturedefs.values()
            if defs[-1].scope == "module" and worker_group(item.nodeid) == item.nodeid
        }
    )
    assert loose == []


def test_the_run_order_keeps_every_test_once_groups_first_each_module_spread() -> None:
    scopes = ["faults"] + [f"tests/a.py::t{i}" for i in range(6)]
    scopes += [f"tests/core/b.py::t{i}" for i in range(3)] + ["demo", "tests/c.py::t0"]
    order = interleaved(scopes)
    assert sorted(order) == sorted(scopes)
    assert order[:2] == ["faults", "demo"]
    assert [s for s in order if s.startswith("tests/a.py")] == [
        f"tests/a.py::t{i}" for i in range(6)
    ]
    # No module's tests run back to back where another module's could come between.
    places = [i for i, s in enumerate(order) if s.startswith("tests/a.py")]
    assert max(b - a for a, b in itertools.pairwise(places)) <= 3
    assert order.index("tests/c.py::t0") < places[-1]  # a one-test module comes mid-run, not last


class FakeNode:
    """A worker as the scheduler sees it: the tests it holds, and whether it was shut down."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.queue: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.queue += indices

    def shutdown(self) -> None:
        self.shutting_down = True


def test_the_scheduler_sends_every_test_once_and_forgets_finished_units() -> None:
    collection = [f"tests/a.py::t{i}" for i in range(40)] + [f"tests/b.py::t{i}" for i in range(9)]
    collection += [f"tests/test_faults.py::t{i}" for i in range(12)]  # a group: one unit
    options = {"dist": "loadgroup", "tx": ["2*popen"]}
    config = SimpleNamespace(getvalue=options.get, option=SimpleNamespace(loadscopereorder=False))
    log = SimpleNamespace(loadscopesched=lambda *args: None)
    scheduler: Any = pytest_xdist_make_scheduler(config, log)  # type: ignore[arg-type]
    nodes = [FakeNode("gw0"), FakeNode("gw1")]
    for node in nodes:
        scheduler.add_node(node)
        scheduler.add_node_collection(node, collection)
    scheduler.schedule()
    ran: list[str] = []
    # A worker told to shut down still runs the tests it holds.
    while any(node.queue or not node.shutting_down for node in nodes):
        for node in nodes:
            if node.queue:
                # A worker has its next test in hand while there is one (pytest needs it
                # for teardown).
                assert len(node.queue) >= 2 or not scheduler.workqueue
                index = node.queue.pop(0)
                ran.append(collection[index])
                scheduler.mark_test_complete(node, index)
            elif not node.shutting_down:
                scheduler._reschedule(node)
    assert sorted(ran) == sorted(collection)
    assert scheduler.tests_finished and not scheduler.has_pending
    # The finished units left the record of what each worker holds.
    assert all(work == {} for work in scheduler.assigned_work.values())
