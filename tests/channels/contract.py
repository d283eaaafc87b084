"""The channel contract: what every channel kind must do, run against every registry kind.

Modelled on Harlequin's adapter test suite: one class of tests, parametrised by the ``kit``
fixture (``tests/channels/conftest.py``) over :data:`engine.channels.registry.REGISTRY`, each
kind bringing its :class:`kits.Kit` (valid settings, raw input, a check per ability).
``test_contract.py`` collects it. What it holds a kind to:

- its registry entry resolves: adapter, settings model, wizard (a string the TUI imports);
- its settings round-trip through the store, secrets sealed at rest and typed ``Secret``;
- abilities are honest: each declared one works (the kit's check, against real servers or
  the in-memory host), each undeclared one raises ``NotSupported`` with a sentence;
- a send the other side refuses for good raises ``PermanentError`` (no retries);
- receiving goes through the host and is idempotent; input it cannot use is quarantined with
  the very bytes that arrived;
- its pure hooks (reply plan, composer, signature, address) need no network and no secrets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from engine.channels import build_adapter
from engine.channels.abilities import Ability, NotSupported
from engine.channels.base import ChannelAdapter
from engine.channels.contract import ComposerSpec, ReplyPlan
from engine.channels.host import ChannelHost
from engine.channels.registry import resolve
from engine.channels.setup import build_channel, model_keys
from engine.channels.testing import MemoryChannelHost
from engine.outbox import PermanentError
from engine.store import Store
from engine.vault import MASK, SECRET_HINTS, is_secret, redact, secret_fields
from tests.channels.kits import Kit, a_ticket, outbox_item

#: how to call each ability's method (None: the ability has no adapter method)
CALLS: dict[Ability, Any] = {
    Ability.receive: lambda a: a.run(),
    Ability.send: lambda a: a.send(outbox_item({"to": "x"})),
    Ability.notify_agents: lambda a: a.send_notification(outbox_item({"to": "x"}, kind="notify")),
    Ability.history_import: lambda a: a.import_history(),
    Ability.skip_existing: lambda a: a.skip_existing(),
    Ability.sync_now: lambda a: a.sync_once(),
    Ability.test_connection: lambda a: a.test_connection(),
    Ability.web_routes: lambda a: a.routes(),
    Ability.sign_in: None,  # a kind-level flow (``ticketty channels signin``), no method
}


class ChannelContract:
    """The tests every channel kind passes (collected by ``test_contract.py``)."""

    # --------------------------------------------------------------- the registry
    def test_the_registry_entry_resolves(self, kit: Kit) -> None:
        entry = kit.entry
        cls = entry.adapter_class()
        assert issubclass(cls, ChannelAdapter) and cls.kind == entry.kind
        assert cls.abilities == entry.abilities, "declare abilities once, in the registry entry"
        model = entry.settings_class()
        assert issubclass(model, BaseModel) and cls.settings_model is model
        assert entry.label and entry.identity_kind

    def test_the_wizard_string_names_an_importable_wizard(self, kit: Kit) -> None:
        from tui.screens.wizard.base import Wizard

        assert kit.entry.wizard, "a kind is connected from the TUI with its wizard"
        wizard = resolve(kit.entry.wizard)
        assert issubclass(wizard, Wizard) and wizard.kind == kit.kind

    # ----------------------------------------------------------------- settings
    async def test_settings_round_trip_through_the_store_sealed(self, kit: Kit,
                                                             store: Store) -> None:
        model = kit.entry.settings_class()
        values = kit.settings()
        pipelines = {p.name: [s.name for s in p.statuses] for p in await store.pipelines()}
        channel = build_channel(kit.kind, "Contract", values, settings_model=model, agents=[],
                                teams=[], pipelines=pipelines)
        stored = await store.channel((await store.add_channel(channel)).id)
        secrets = secret_fields(model)
        for key in secrets:
            assert str(stored.settings[key]).startswith("fernet:"), f"{key} is not sealed"
            assert redact(kit.kind, stored.settings)[key] == MASK
        adapter = build_adapter(stored, store)
        assert adapter.settings.model_dump(mode="json") == \
            model.model_validate(values).model_dump(mode="json")

    def test_secrets_are_typed_secret_and_marked_once(self, kit: Kit) -> None:
        model = kit.entry.settings_class()
        secrets = secret_fields(model)
        typed = {n for n, f in model.model_fields.items() if f.annotation is SecretStr}
        assert secrets == typed
        named = {n for n in model.model_fields if any(h in n for h in SECRET_HINTS)
                 and not n.endswith(("_url", "_host", "_port"))}
        assert named <= secrets, f"named like secrets but not typed Secret: {named - secrets}"
        assert all(is_secret(kit.kind, key) for key in secrets)
        assert {k for k, info in model_keys(model).items() if info.kind == "secret"} == secrets
        values = kit.settings()
        shown = repr(model.model_validate(values))
        for key in secrets:
            assert values[key], f"the kit's settings leave {key} empty"
            assert str(values[key]) not in shown

    # ---------------------------------------------------------------- abilities
    @pytest.mark.parametrize("ability", list(Ability))
    async def test_abilities_are_honest(self, kit: Kit, ability: Ability, tmp_path: Path,
                                        request: pytest.FixtureRequest) -> None:
        host = MemoryChannelHost(spool_dir=tmp_path / "spool", agents={"ada@acme.test"})
        assert isinstance(host, ChannelHost)
        adapter = kit.adapter(host)
        assert adapter.can(ability) == kit.entry.can(ability)
        if kit.entry.can(ability):
            assert ability in kit.checks, f"{kit.kind} declares {ability} but its kit has no check"
            try:
                await kit.checks[ability](kit, request, host)
            finally:
                await adapter.close()
            return
        assert ability not in kit.checks, f"{kit.kind}'s kit checks {ability} it does not declare"
        call = CALLS[ability]
        if call is None:
            return
        with pytest.raises(NotSupported, match=f"a {kit.kind} channel; it cannot"):
            result = call(adapter)
            if hasattr(result, "__await__"):
                await result

    async def test_a_send_refused_for_good_is_permanent(self, kit: Kit, tmp_path: Path,
                                                        request: pytest.FixtureRequest) -> None:
        if not kit.entry.can(Ability.send):
            pytest.skip(f"{kit.kind} does not send")
        host = MemoryChannelHost(spool_dir=tmp_path / "spool")
        with kit.refusing(request) as reach:
            adapter = kit.adapter(host, **reach)
            plan = adapter.prepare_reply(kit.reply_context(adapter.channel))
            with pytest.raises(PermanentError):
                await adapter.send(outbox_item(plan.payload))
        with pytest.raises(PermanentError):  # nobody to send to: no retry either
            await adapter.send(outbox_item({**plan.payload, "to": None}))

    # ---------------------------------------------------------------- receiving
    async def test_receiving_goes_through_the_host_and_is_idempotent(
            self, kit: Kit, tmp_path: Path) -> None:
        if not kit.entry.can(Ability.receive):
            pytest.skip(f"{kit.kind} does not receive")
        host = MemoryChannelHost(spool_dir=tmp_path / "spool")
        adapter = kit.adapter(host)
        try:
            first = await kit.deliver(adapter, kit.inbound(1))
            again = await kit.deliver(adapter, kit.inbound(1))
        finally:
            await adapter.close()
        assert first is not None and first.created_ticket
        assert again is not None and again.duplicate and again.ticket_id == first.ticket_id
        assert len(host.messages) == 1 and host.messages[0].channel_id == 1

    async def test_the_same_input_twice_is_one_ticket_in_the_store(self, kit: Kit,
                                                                   store: Store) -> None:
        if not kit.entry.can(Ability.receive):
            pytest.skip(f"{kit.kind} does not receive")
        stored = await store.add_channel(kit.channel().model_copy(update={"id": None}))
        adapter = build_adapter(stored, store)
        try:
            first = await kit.deliver(adapter, kit.inbound(1))
            again = await kit.deliver(adapter, kit.inbound(1))
        finally:
            await adapter.close()
        assert first is not None and again is not None and again.duplicate
        assert await store.count_channel_tickets(stored.id) == 1

    async def test_unusable_input_is_quarantined_with_its_bytes(self, kit: Kit,
                                                                tmp_path: Path) -> None:
        if not kit.entry.can(Ability.receive):
            pytest.skip(f"{kit.kind} does not receive")
        host = MemoryChannelHost(spool_dir=tmp_path / "spool")
        adapter = kit.adapter(host)
        raw = kit.malformed()
        try:
            assert await kit.deliver(adapter, raw) is None
        finally:
            await adapter.close()
        assert host.messages == []
        assert [q.raw for q in host.quarantined] == [raw] and host.quarantined[0].reason

    # --------------------------------------------------------------- pure hooks
    def test_the_kind_hooks_are_pure_and_plan_a_reply(self, kit: Kit) -> None:
        cls = kit.entry.adapter_class()
        channel = kit.channel()
        plan = cls.prepare_reply(kit.reply_context(channel))
        assert isinstance(plan, ReplyPlan) and plan.payload["to"] == kit.customer
        json.dumps(plan.payload)  # the outbox stores it as JSON
        if plan.external_id:  # fixed at queue time: it must not change on a second plan
            assert cls.prepare_reply(kit.reply_context(channel)).external_id == plan.external_id
        spec = cls.composer_spec(channel, a_ticket("Order 1"))
        assert isinstance(spec, ComposerSpec) and (spec.subject if spec.has_subject else True)
        assert spec.window.open == cls.can(Ability.send)
        assert isinstance(cls.signature_preview(channel, "Ada Agent"), str)
        assert isinstance(cls.address_of(channel), str)
