"""The ``kit`` fixture: the contract suite runs once per registry kind."""

from __future__ import annotations

import pytest

from engine.channels.registry import REGISTRY
from tests.channels.kits import KITS, Kit


@pytest.fixture(params=sorted(REGISTRY))
def kit(request: pytest.FixtureRequest) -> Kit:
    kind = request.param
    if kind not in KITS:
        pytest.fail(f"channel kind {kind!r} has no contract kit: add one to"
                    " tests/channels/kits.py", pytrace=False)
    return KITS[kind]()
