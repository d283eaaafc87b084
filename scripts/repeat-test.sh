#!/usr/bin/env bash
# Run the same tests N times in a row, each run a fresh pytest process; stop at the first
# failure. Proves a flaky test is fixed (issue 17: the forwarding listener leak) — not for CI.
#
#   scripts/repeat-test.sh [N] [pytest args …]
#   scripts/repeat-test.sh 100          # the two tests the listener leak made flaky
#   make repeat N=100
set -uo pipefail
cd "$(dirname "$0")/.."
n="${1:-100}"
shift || true
if [ "$#" -eq 0 ]; then
    set -- tests/email/test_email_channel.py -p no:cacheprovider \
        -k "test_forwarding_in_reply_out_and_threading or test_auto_acknowledgement_never_to_automatic_mail_and_rate_limited"
fi
start=$(date +%s)
for i in $(seq 1 "$n"); do
    if ! out=$(.venv/bin/pytest "$@" 2>&1); then
        echo "$out" | tail -40
        echo "run $i of $n FAILED after $(( $(date +%s) - start )) s ($(( i - 1 )) passed before it)"
        exit 1
    fi
    if ! grep -qE '(^| )[1-9][0-9]* passed' <<<"$out" || grep -q skipped <<<"$out"; then
        echo "$out" | tail -5
        echo "run $i: not every selected test ran and passed (wrong selection?)"
        exit 1
    fi
done
echo "$n of $n runs passed in $(( $(date +%s) - start )) s: $*"
