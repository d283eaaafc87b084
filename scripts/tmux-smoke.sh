#!/usr/bin/env bash
# Whole-app smoke test: the real `ticketty` in a private tmux server, on a temporary database
# seeded through the CLI, driven with keys and checked with capture-pane; then `ticketty demo`
# with live traffic. Both must be gone within 2 s of quitting.
#
#   scripts/tmux-smoke.sh            # exit 0 on success; prints the failing screen otherwise
#   TICKETTY=/path/to/ticketty scripts/tmux-smoke.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TICKETTY=${TICKETTY:-$ROOT/.venv/bin/ticketty}
WORK=$(mktemp -d)
SOCK="ticketty-smoke-$$"
export XDG_CONFIG_HOME="$WORK/config" XDG_DATA_HOME="$WORK/data"
# the TUI runs the channels and may open the web front door: never on the real port 8780
mkdir -p -m 700 "$XDG_CONFIG_HOME/ticketty"
printf '[engine]\nhttp_port = 0\n' > "$XDG_CONFIG_HOME/ticketty/config.toml"
DB="$WORK/smoke.db"
LOG="$WORK/ticketty.log"

cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

SESSION=smoke0  # each start() makes a new session (killing the last one could end the server)
screen() { tmux -L "$SOCK" capture-pane -p -t "$SESSION" 2>/dev/null || true; }

fail() {
    echo "tmux-smoke: FAILED: $*" >&2
    echo "---- screen ----" >&2
    screen >&2
    echo "---- log ----" >&2
    cat "$LOG" >&2 2>/dev/null || true
    exit 1
}

# wait_for TEXT [SECONDS]: poll the screen until TEXT shows up
wait_for() {
    local text=$1 limit=${2:-10} i
    for ((i = 0; i < limit * 20; i++)); do
        if screen | grep -qF -- "$text"; then return 0; fi
        sleep 0.05
    done
    fail "did not see '$text' within ${limit}s"
}

# wait_gone TEXT [SECONDS]: poll until TEXT is no longer on screen
wait_gone() {
    local text=$1 limit=${2:-10} i
    for ((i = 0; i < limit * 20; i++)); do
        if ! screen | grep -qF -- "$text"; then return 0; fi
        sleep 0.05
    done
    fail "'$text' still on screen after ${limit}s"
}

keys() { tmux -L "$SOCK" send-keys -t "$SESSION" "$@"; }
text() { tmux -L "$SOCK" send-keys -t "$SESSION" -l -- "$1"; }

# start CMD: a fresh session running CMD, whose exit status lands in $STATUS (read from a file,
# not tmux's pane_dead_status: tmux 3.3a sometimes never reaps a pane's process, leaving that
# field empty); the pane stays after the command ends, to read its last words
STATUS="$WORK/exit-status"
start() {
    local last=$SESSION
    rm -f "$STATUS"
    SESSION="smoke$(( ${SESSION#smoke} + 1 ))"
    tmux -L "$SOCK" -f /dev/null new-session -d -s "$SESSION" -x 140 -y 40 \
        "$1; echo \$? > '$STATUS'" \; set-option -t "$SESSION" remain-on-exit on
    tmux -L "$SOCK" kill-session -t "$last" 2>/dev/null || true
}

# quit_within SECONDS KEY: press KEY; the whole process (not just the screen) must be gone in
# time, with exit status 0
quit_within() {
    local limit=$1 key=$2 start now
    start=$(date +%s%N)
    keys "$key"
    while [ ! -s "$STATUS" ]; do
        now=$(date +%s%N)
        if (( (now - start) / 1000000 > limit * 1000 )); then
            fail "still running ${limit}s after '$key' (a thread or task left open?)"
        fi
        sleep 0.05
    done
    echo "tmux-smoke: exited $(( ($(date +%s%N) - start) / 1000000 )) ms after '$key'"
    local status
    status=$(cat "$STATUS")
    [ "$status" = 0 ] || fail "exit status '$status'"
}

# ---------------------------------------------------------------- seed through the CLI
"$TICKETTY" --db "$DB" tickets create --subject "Printer on fire" --from jane@example.org \
    --name "Jane Doe" --body "It is smoking." >/dev/null
"$TICKETTY" --db "$DB" tickets create --subject "[bold]Literal[/bold] subject" \
    --from mallory@example.com --name "Mallory" --body "markup must stay literal" >/dev/null

# ---------------------------------------------------------------- start the real app
start "TICKETTY_LOG='$LOG' '$TICKETTY' --db '$DB'"

wait_for "Printer on fire" 15
wait_for "[bold]Literal[/bold] subject"
wait_for "All open 2"

# search narrows the queue, Esc clears it
keys /
wait_for "priority:high"
text "Printer"
keys Enter
wait_for "search: Printer"
wait_gone "Literal[/bold] subject"
keys Escape
wait_for "[bold]Literal[/bold] subject"

# open the top ticket, add a note, change the status from the command line
keys Enter
wait_for "markup must stay literal"
keys n
wait_for "Internal note"
text "smoke test note"
keys C-s
wait_for "internal note ·"
wait_for "smoke test note"
keys :
wait_for "assign me · status pending"
text "status pending"
keys Enter
wait_for "status changed from new to pending"

# help, then back to the queue on the same row
keys '?'
wait_for "Keys — ticket"
wait_for "Reply to the customer"
keys Escape
wait_gone "Keys — ticket"
keys Escape
wait_for "All open 2"
wait_for "pending"

# quit cleanly
quit_within 2 q
grep -q "ready in" "$LOG" || fail "no 'ready in N ms' in the log"
"$TICKETTY" --db "$DB" tickets list --status pending | grep -qF "Literal" \
    || fail "the status change did not reach the database"
READY=$(grep -o 'ready in [0-9]* ms' "$LOG" | head -1)

# ---------------------------------------------------------------- the demo: start, live traffic, q
mkdir -p "$WORK/tmp"
start "TMPDIR='$WORK/tmp' TICKETTY_LOG='$LOG' '$TICKETTY' demo --rate 30"
wait_for "Support email" 30
wait_for "Billing email"
wait_for "customers are writing in" 15
wait_for "All open"
quit_within 2 q
tmux -L "$SOCK" capture-pane -p -S -100 -t "$SESSION" | grep -qF "demo workspace removed" \
    || fail "the demo did not say that its temporary workspace is gone"
[ -z "$(ls -A "$WORK/tmp")" ] || fail "the demo left its temporary directory: $(ls "$WORK/tmp")"
echo "tmux-smoke: ok ($READY)"
