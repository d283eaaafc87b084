"""The CLI as a scripter meets it (issue 11, items 4–8): ``me``, limits, one-line errors,
unknown filter values, JSON errors and the subcommand's own usage.

Most cases call the CLI's ``main()`` in this process (what the console script runs), capturing
stdout and stderr; one goes through the real console script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ticketty.main import main

BIN = str(Path(sys.executable).parent / "ticketty")


@pytest.fixture(autouse=True)
def _private_config(tmp_path, monkeypatch):
    """No user config file leaks into the commands."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


class Cli:
    def __init__(self, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.db = db
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--db", str(self.db), *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *args: str) -> str:
        code, out, err = self(*args)
        assert code == 0, (args, err)
        return out

    def json(self, *args: str):  # decoded JSON
        return json.loads(self.ok(*args, "--json"))


@pytest.fixture
def cli(db_path, capsys) -> Cli:
    return Cli(db_path, capsys)


def _ticket(cli: Cli, subject: str = "Printer on fire", sender: str = "jane@example.org") -> int:
    return cli.json("tickets", "create", "--subject", subject, "--from", sender)["id"]


# ------------------------------------------------------------------- item 4: me
def test_me_means_the_current_agent_everywhere(cli):
    n = str(_ticket(cli))
    me = cli.json("agents", "list")[0]["email"]
    assert cli.json("tickets", "assign", n, "me")["assignee"] == me
    assert [t["id"] for t in cli.json("tickets", "list", "--assignee", "me")] == [int(n)]
    cli.ok("agents", "add", "--email", "bob@acme.test", "--name", "Bob")
    # acting as someone else: me is that agent, not the positional argument's owner
    assert cli.json("--as", "bob@acme.test", "tickets", "assign", n, "me")["assignee"] == "bob@acme.test"
    assert cli.json("tickets", "assign", n, "bob@acme.test")["assignee"] == "bob@acme.test"
    cli.ok("contacts", "owner", "jane@example.org", "me")
    assert cli.json("contacts", "list")[0]["owner"] == me
    cli.ok("teams", "add", "Floor", "--members", "me,bob@acme.test")
    assert cli.json("teams", "list")[0]["members"] == [me, "bob@acme.test"]
    cli.ok("agents", "update", "me", "--availability", "away")
    assert {a["email"]: a["availability"] for a in cli.json("agents", "list")}[me] == "away"


# ---------------------------------------------------------------- item 5: limit
def test_list_says_how_many_more_and_limit_zero_lists_all(cli, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("subject,from_email\n" + "".join(f"Question {i},c{i}@example.com\n"
                                                     for i in range(63)))
    cli.ok("import", "csv", str(path))
    out = cli.ok("tickets", "list")
    lines = out.splitlines()
    assert len(lines) == 1 + 50 + 1
    assert lines[-1] == "… 13 more not shown (50 of 63): --limit 0 lists all, --limit N lists N."
    assert len(cli.json("tickets", "list", "--limit", "0")) == 63
    assert len(cli.ok("tickets", "list", "--limit", "0").splitlines()) == 1 + 63
    assert len(cli.json("tickets", "list", "--limit", "7")) == 7
    code, out, err = cli("tickets", "list", "--limit", "-1")
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == "ticketty: error: --limit: must be 0 (all tickets) or more, not -1"


# --------------------------------------------------- item 6: validation errors
def test_validation_errors_are_one_line_with_the_field(cli):
    code, out, err = cli("agents", "add", "--email", "bad", "--name", "X")
    assert code == 1 and out == ""
    assert err == "ticketty: error: email: not a valid email address: 'bad'\n"
    code, _, err = cli("tickets", "create", "--subject", "x", "--from", "not-an-email")
    assert code == 1 and err == "ticketty: error: --from: not a valid email address: 'not-an-email'\n"
    n = str(_ticket(cli))
    code, _, err = cli("tickets", "assign", n, "bad@")
    assert code == 1 and err == "ticketty: error: agent: not a valid email address: 'bad@'\n"
    code, _, err = cli("agents", "add", "--email", "ok@acme.test", "--name", "Ok", "--hours",
                       "mon-fri 25:00-26:00")
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("ticketty: error: --hours: start: Input should be in a valid time format")
    code, _, err = cli("agents", "add", "--email", "ok@acme.test", "--name", "Ok", "--hours",
                       "mon-fri 09:00-17:00 Mars/Olympus")
    assert code == 1 and err == "ticketty: error: --hours: unknown time zone 'Mars/Olympus' (e.g. Europe/Paris)\n"
    code, _, err = cli("agents", "add", "--email", "ok@acme.test", "--name", " ")
    assert code == 1 and err == "ticketty: error: --name: an agent needs a name\n"
    code, _, err = cli("canned", "add", "--title", "", "--body", "Hello")
    assert code == 1 and err == "ticketty: error: --title: a canned reply needs a title\n"
    code, _, err = cli("channels", "add", "email", "--name", "Support", "--set", "address=bad")
    assert code == 1 and err == "ticketty: error: address: not a valid email address: 'bad'\n"
    assert cli.json("agents", "list")[0]["name"] and cli.json("canned", "list") == []


# --------------------------------------- item 7: unknown filter values, empty results
def test_unknown_status_view_or_channel_is_an_error_listing_the_valid_ones(cli):
    _ticket(cli)
    code, out, err = cli("tickets", "list", "--status", "nonsense")
    assert code != 0 and out == ""
    assert err == ("ticketty: error: --status: unknown status 'nonsense'"
                   " (statuses: new, open, pending, on_hold, solved, closed)\n")
    code, out, err = cli("tickets", "list", "--view", "nonsense")
    assert code != 0 and out == ""
    assert err.splitlines()[-1] == ("ticketty: error: --view: invalid choice: 'nonsense' (choose"
                                    " from 'open', 'closed', 'all', 'unassigned', 'mine')")
    code, out, err = cli("tickets", "list", "--channel", "nonsense")
    assert code != 0 and "no channel named 'nonsense'" in err and "no channels yet" in err
    code, _, err = cli("tickets", "list", "--assignee", "ghost@acme.test")
    assert code != 0 and "--assignee: no agent with email 'ghost@acme.test'" in err


def test_an_empty_result_says_no_tickets_match(cli):
    _ticket(cli)
    assert cli.ok("tickets", "list", "--search", "zebra") == "No tickets match --view open --search zebra.\n"
    assert cli.ok("tickets", "list", "--status", "pending") == "No tickets match --view all --status pending.\n"
    assert cli.json("tickets", "list", "--status", "pending") == []


# ------------------------------------------- item 8: JSON errors, subcommand usage
def test_json_errors_go_to_stderr_as_json(cli):
    for args, code in ((["tickets", "show", "42"], 1),
                       (["--json", "tickets", "show", "42"], 1),
                       (["agents", "add", "--email", "bad", "--name", "X"], 1),
                       (["tickets", "list", "--bogus"], 2),
                       (["tickets", "list", "--limit", "-1"], 2)):
        got, out, err = cli(*args, "--json") if "--json" not in args else cli(*args)
        assert got == code and out == ""
        assert len(err.splitlines()) == 1, err
        data = json.loads(err)
        assert data["exit"] == code and set(data) == {"error", "exit"}
    assert json.loads(cli("tickets", "show", "42", "--json")[2])["error"] == "no ticket #42"


def test_an_unknown_flag_prints_the_subcommands_usage(cli):
    code, out, err = cli("tickets", "list", "--bogus")
    assert code == 2 and out == ""
    assert err.startswith("usage: ticketty tickets list ")
    assert err.splitlines()[-1] == "ticketty: error: unrecognized arguments: --bogus"
    code, _, err = cli("agents", "add", "--email", "x@acme.test")
    assert code == 2 and err.startswith("usage: ticketty agents add ")
    assert err.splitlines()[-1] == "ticketty: error: the following arguments are required: --name"


def test_the_console_script_reports_json_errors(db_path, tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    p = subprocess.run([BIN, "--db", str(db_path), "tickets", "list", "--bogus", "--json"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 2 and p.stdout == ""
    assert json.loads(p.stderr) == {"error": "unrecognized arguments: --bogus", "exit": 2}
