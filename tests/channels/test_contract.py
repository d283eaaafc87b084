"""Every registry kind against the channel contract (:mod:`contract`)."""

from __future__ import annotations

from tests.channels.contract import ChannelContract


class TestChannelContract(ChannelContract):
    """Parametrised over the registry by the ``kit`` fixture."""
