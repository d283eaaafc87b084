#!/usr/bin/env bash
# Mutation testing of the core modules (issue 17), each against its own fast tests. Not in CI.
#
#   scripts/mutate.sh                 # every module below, in this order
#   scripts/mutate.sh engine/routing.py engine/text.py   # just these
#   make mutate [MODULES="…"]
#
# Each module runs in a scratch copy of the worktree (mutmut 3 rewrites the source into
# mutants/) under build/mutate/<module>/, with only the tests listed for it; the figures go to
# build/mutate/results.jsonl and the table rows (for docs/mutation.md) to
# build/mutate/table.md. Survivors of a module: `cd build/mutate/<slug> && mutmut results`,
# and `mutmut show NAME` for one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="$root/build/mutate"
mkdir -p "$out"
.venv/bin/python -c "import mutmut" 2>/dev/null || .venv/bin/pip install --quiet -e '.[test,mutate]'

# module | its fast tests (whole files; speed tests are deselected: mutmut's trampolines slow
# the code they time)
MODULES=(
  "engine/routing.py|tests/core/test_routing.py"
  "engine/text.py|tests/core/test_text.py"
  "engine/ingest_rules.py|tests/core/test_ingest_rules.py"
  "engine/channels/email_compose.py|tests/email/test_email_compose.py"
  "engine/channels/email_forward.py|tests/email/test_email_forward_rules.py tests/email/test_email_parse.py"
  "engine/channels/email_address.py|tests/email/test_email_address.py tests/email/test_email_parse.py tests/email/test_email_props.py"
  "engine/channels/email_parse.py|tests/email/test_email_parse_fields.py tests/email/test_email_parse.py tests/email/test_email_props.py"
  "engine/channels/email_charset.py|tests/email/test_email_charset.py tests/email/test_email_props.py tests/email/test_email_parse.py"
  "engine/channels/email_decode.py|tests/email/test_email_decode.py tests/email/test_email_parse_fields.py tests/email/test_email_parse.py tests/email/test_email_props.py"
  "engine/outbox.py|tests/core/test_store.py tests/core/test_outbox_owner.py tests/core/test_outbox_schedule.py tests/core/test_outbox_run.py"
  "engine/store/sqlite/fts.py|tests/core/test_search_words.py tests/core/test_search_props.py tests/core/test_fts_cache.py"
  "engine/store/queries.py|tests/core/test_store.py tests/core/test_search_words.py tests/core/test_queries.py"
  "engine/store/ingest.py|tests/core/test_ingest.py tests/core/test_ingest_branches.py tests/core/test_ingest_routing.py"
  "engine/ingest.py|tests/core/test_ingest.py"
  "tui/search.py|tests/core/test_search_apply.py tests/core/test_search_props.py"
  "tui/queue_model.py|tests/tui/test_queue_model.py tests/tui/test_queue_follow.py"
  "engine/channels/calls_signature.py|tests/calls/test_calls_signature.py tests/channels/test_signature_props.py"
  "engine/channels/meta_signature.py|tests/channels/test_signature_props.py tests/channels/test_meta_signature.py"
  "engine/channels/meta_windows.py|tests/channels/test_meta_windows.py"
  "engine/channels/calls_twiml.py|tests/calls/test_calls_twiml.py"
  "engine/channels/chat_tokens.py|tests/chat/test_chat_tokens.py"
  "engine/channels/forms_guard.py|tests/channels/test_forms_guard.py"
  "engine/office_hours.py|tests/core/test_office_hours.py"
)
if [ "$#" -gt 0 ]; then
  wanted=("$@")
  selected=()
  for row in "${MODULES[@]}"; do
    for w in "${wanted[@]}"; do [ "${row%%|*}" = "$w" ] && selected+=("$row"); done
  done
  MODULES=("${selected[@]}")
fi

for row in "${MODULES[@]}"; do
  module="${row%%|*}"
  tests="${row#*|}"
  slug=$(echo "$module" | tr '/.' '__')
  work="$out/$slug"
  rm -rf "$work"
  mkdir -p "$work"
  git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T - | (cd "$work" && tar -xf -)
  existing=""
  for t in $tests; do [ -e "$work/$t" ] && existing="$existing\"$t\", "; done
  cat >> "$work/pyproject.toml" <<TOML

[tool.mutmut]
paths_to_mutate = ["$module"]
tests_dir = [${existing%, }]
also_copy = ["engine", "tui", "themes", "ticketty", "tests", "bench", "pyproject.toml"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q", "-k", "not rate_stays_close"]
TOML
  echo "== $module  ($tests)"
  start=$(date +%s)
  (cd "$work" && "$root/.venv/bin/mutmut" run --max-children 2 >"$work/mutmut.log" 2>&1) || true
  seconds=$(( $(date +%s) - start ))
  "$root/.venv/bin/python" "$root/scripts/mutation_report.py" "$work" "$module" "$seconds" "$tests" \
    | tee -a "$out/results.jsonl"
done
"$root/.venv/bin/python" "$root/scripts/mutation_report.py" --table "$out/results.jsonl" > "$out/table.md"
cat "$out/table.md"
