"""Agents, teams, pipelines and canned replies screens: add, edit, errors beside fields."""

from __future__ import annotations

from tests.helpers.admin import SIZE, make_app, run_command, started, until
from tui.screens.admin.base import FormScreen


async def open_screen(pilot, command: str):
    await started(pilot)
    await run_command(pilot, command)
    await until(pilot, lambda: getattr(pilot.app.screen, "loaded", False), command)
    return pilot.app.screen


async def open_form(pilot, key: str) -> FormScreen:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, FormScreen), "the form")
    await pilot.pause()
    return pilot.app.screen


async def save(pilot, form: FormScreen) -> None:
    await pilot.press("ctrl+s")
    await until(pilot, lambda: pilot.app.screen is not form or form.form.errors()
                or str(form.query_one("#form-message").content), "the save")


async def test_agents_add_edit_with_errors(bare_db):
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot, "agents")
        assert [a.email for a in screen.items] == ["ada@example.com", "bob@example.com",
                                                    "carl@example.com"]
        form = await open_form(pilot, "a")
        f = form.form
        f.set_value("email", "dina@example.com")
        f.set_value("name", "Dina Dev")
        f.set_value("teams", "Nope")
        f.set_value("working_hours", "mon-fri 09:00-17:00 Europe/Paris")
        await save(pilot, form)
        assert f.errors() == {"teams": "no team named 'Nope'"}
        f.set_value("teams", "Billing")
        f.set_value("skills", "billing, french")
        f.set_value("seat", False)
        await save(pilot, form)
        await until(pilot, lambda: len(screen.items) == 4, "the new agent")
        dina = await app.store.agent("dina@example.com")
        assert dina.skills == ["billing", "french"] and not dina.seat and dina.teams
        assert dina.working_hours.days == [1, 2, 3, 4, 5]
        await pilot.press("j", "j", "j", "enter")
        form = await until_form(pilot)
        assert form.form.value("working_hours") == "mon-fri 09:00-17:00 Europe/Paris"
        form.form.set_value("role", "admin")
        form.form.set_value("availability", "away")
        await save(pilot, form)
        await until(pilot, lambda: not isinstance(app.screen, FormScreen), "closed")
        dina = await app.store.agent("dina@example.com")
        assert dina.role.value == "admin" and dina.availability.value == "away"


async def until_form(pilot) -> FormScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, FormScreen), "the form")
    await pilot.pause()
    return pilot.app.screen


async def test_teams_pipelines_canned(bare_db):
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        teams = await open_screen(pilot, "teams")
        form = await open_form(pilot, "enter")
        form.form.set_value("name", "Money")
        form.form.set_value("members", "bob@example.com, ghost@example.com")
        await save(pilot, form)
        assert "ghost@example.com" in form.form.errors()["members"]
        form.form.set_value("members", "bob@example.com, ada@example.com")
        await save(pilot, form)
        await until(pilot, lambda: teams.items and teams.items[0].name == "Money", "renamed")
        assert len(teams.items[0].members) == 2
        await pilot.press("escape")

        pipes = await open_screen(pilot, "pipelines")
        form = await open_form(pilot, "enter")
        form.form.set_value("open", "new, open, waiting")
        form.form.set_value("closed", "solved")
        await save(pilot, form)
        await until(pilot, lambda: not isinstance(app.screen, FormScreen), "saved")
        support = (await app.store.pipelines())[0]
        assert [(s.name, s.closed) for s in support.statuses] == [
            ("new", False), ("open", False), ("waiting", False), ("solved", True)]
        form = await open_form(pilot, "a")
        form.form.set_value("name", "Sales")
        form.form.set_value("open", "lead, talking")
        form.form.set_value("closed", "won, lost")
        await save(pilot, form)
        await until(pilot, lambda: len(pipes.items) == 2, "the new pipeline")
        await pilot.press("escape")

        canned = await open_screen(pilot, "canned")
        form = await open_form(pilot, "a")
        form.form.set_value("title", "Refund policy")
        form.form.set_value("body", "again")
        await save(pilot, form)
        assert "already exists" in form.form.errors()["title"]
        form.form.set_value("title", "Hello")
        form.form.set_value("body", "Hello there,\n")
        await save(pilot, form)
        await until(pilot, lambda: len(canned.items) == 2, "the new reply")
        await pilot.press("d")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", "confirm")
        await pilot.press("y")
        await until(pilot, lambda: len(canned.items) == 1, "removed")
        assert [r.title for r in await app.store.canned_replies()] == ["Refund policy"]


async def test_agents_os_user_from_the_screen(bare_db):
    """The OS user mapping is reachable from the agents screen, checked beside the field."""
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(pilot, "agents")
        me = app.identity.me
        await pilot.press("j")  # Bob
        form = await open_form(pilot, "enter")
        form.form.set_value("os_user", "bad name")
        await save(pilot, form)
        assert "not a valid OS user name" in form.form.errors()["os_user"]
        form.form.set_value("os_user", me.os_user)
        await save(pilot, form)
        assert form.form.errors()["os_user"] == f"{me.os_user!r} already works as {me.email}"
        form.form.set_value("os_user", "bob")
        await save(pilot, form)
        await until(pilot, lambda: not isinstance(app.screen, FormScreen), "saved")
        assert (await app.store.agent("bob@example.com")).os_user == "bob"
        await until(pilot, lambda: screen.items[1].os_user == "bob", "the list")
        await pilot.press("k")  # yourself: not from here
        form = await open_form(pilot, "enter")
        form.form.set_value("os_user", "someone")
        await save(pilot, form)
        assert "lock you out" in form.form.errors()["os_user"]


async def test_agents_phone_from_the_screen(bare_db):
    """An agent's phone (what calls ring) is set on the agents screen, checked beside it."""
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await open_screen(pilot, "agents")
        await pilot.press("j")  # Bob
        form = await open_form(pilot, "enter")
        form.form.set_value("phone", "call me maybe")
        await save(pilot, form)
        assert "not a phone number" in form.form.errors()["phone"]
        form.form.set_value("phone", "+1 (415) 555-0111")
        await save(pilot, form)
        await until(pilot, lambda: not isinstance(app.screen, FormScreen), "saved")
        assert (await app.store.agent("bob@example.com")).phone == "+14155550111"


async def test_pipeline_reply_statuses_and_workspace_form(bare_db):
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        pipes = await open_screen(pilot, "pipelines")
        assert "reply → pending (default) · customer → open (default)" in str(
            pipes.table.get_row_at(0)[2])
        form = await open_form(pilot, "enter")
        form.form.set_value("after_reply", "nope")
        await save(pilot, form)
        assert "'nope'" in form.form.errors()["after_reply"]
        form.form.set_value("after_reply", "on_hold")
        form.form.set_value("on_customer_reply", "solved")
        await save(pilot, form)
        assert "must be an open status" in form.form.errors()["on_customer_reply"]
        form.form.set_value("on_customer_reply", "new")
        await save(pilot, form)
        await until(pilot, lambda: not isinstance(app.screen, FormScreen), "saved")
        support = (await app.store.pipelines())[0]
        assert (support.after_reply, support.on_customer_reply) == ("on_hold", "new")
        await pilot.press("escape")

        await run_command(pilot, "workspace")
        form = await until_form(pilot)
        assert form.form.value("assign_on_reply") is True
        form.form.set_value("assign_on_reply", False)
        await save(pilot, form)
        await until(pilot, lambda: not isinstance(app.screen, FormScreen), "saved")
        assert (await app.store.workspace()).assign_on_reply is False
