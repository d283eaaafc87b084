"""The admin screens' operations are CLI commands too, with the same admins-only rule."""

from __future__ import annotations

import json

from tests.helpers.cli import run_cli as run


def test_teams_pipelines_canned_verbs(bare_db):
    as_ada = ["--as", "ada@example.com"]
    out = run(bare_db, "teams", "edit", "Billing", "--rename", "Money",
              "--members", "bob@example.com,ada@example.com", *as_ada)
    assert out.returncode == 0, out.stderr
    teams = json.loads(run(bare_db, "teams", "list", "--json").stdout)
    assert teams[0]["name"] == "Money" and len(teams[0]["members"]) == 2
    refused = run(bare_db, "teams", "remove", "Money", "--as", "bob@example.com")
    assert refused.returncode != 0 and "admins only" in refused.stderr
    assert run(bare_db, "teams", "remove", "Money", *as_ada).returncode == 0
    out = run(bare_db, "pipelines", "edit", "Support", "--open", "new,open,waiting",
              "--closed", "solved,closed", *as_ada)
    assert out.returncode == 0, out.stderr
    assert run(bare_db, "canned", "remove", "Refund policy", *as_ada).returncode == 0
    assert json.loads(run(bare_db, "canned", "list", "--json").stdout) == []
