#!/usr/bin/env bash
# Longer fuzzing (make fuzz): every Fuzz target in the tree, one after the
# other, for FUZZTIME each. `make test` only replays the seed corpora.
#
#   scripts/fuzz.sh                      every target, 60 s each
#   FUZZTIME=5m scripts/fuzz.sh ari      targets whose "package/Name" matches
#   FUZZTIME=200000x scripts/fuzz.sh     a count instead of a duration
#
# FUZZPARALLEL sets the workers per target (default: one per core).
# FUZZMINIMIZETIME (default 0) is spent shrinking each new input; shrinking
# inputs grown from the large ARI sessions would take most of the run, so it
# is off and a crasher is kept as found (set it, e.g. to 60s, for a run whose
# crashers should come out small).
#
# Exits non-zero when a target finds a crasher or fails otherwise. A bare
# "context deadline exceeded" with no failing input is Go 1.26's fuzzing
# coordinator racing its own -fuzztime deadline (go.dev/issue/75804, fixed
# in Go 1.27): the target's corpus is replayed, and if it passes the run
# counts as clean.
set -uo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-60s}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-0}
FUZZPARALLEL=${FUZZPARALLEL:-}
logs=$(mktemp -d "${TMPDIR:-/tmp}/tamas-fuzz.XXXXXX")

# "./pkg Name" for every fuzz target.
targets=$(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -H '^func Fuzz[A-Za-z0-9_]*(' |
	sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#./\1 \2#' | sort)
if [ $# -gt 0 ]; then
	pattern=$(IFS='|'; echo "$*")
	targets=$(echo "$targets" | awk -v re="$pattern" '{ if ((substr($1, 3) "/" $2) ~ re) print }')
fi
if [ -z "$targets" ]; then
	echo "no fuzz target matches: $*" >&2
	exit 2
fi

parallel=()
[ -n "$FUZZPARALLEL" ] && parallel=(-parallel "$FUZZPARALLEL")

status=0
summary=()
while read -r pkg name; do
	rel=${pkg#./}
	log="$logs/${rel//\//_}.$name.log"
	echo "== $name ($pkg, $FUZZTIME)"
	go test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" \
		"${parallel[@]}" -timeout 2h "$pkg" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	crashers=$(grep -c 'Failing input written to' "$log")
	result=ok
	if [ "$rc" -ne 0 ]; then
		if [ "$crashers" -gt 0 ]; then
			result="CRASHER: $(grep -o 'testdata/fuzz/[^ ]*' "$log" | head -n 1)"
			status=1
		elif grep -q 'context deadline exceeded' "$log" && go test -count=1 -run "^$name\$" "$pkg" >>"$log" 2>&1; then
			result="ok (deadline race, corpus replayed clean)"
		else
			result="FAILED (see $log)"
			status=1
		fi
	fi
	summary+=("$(printf '%-28s %-22s %-8s %12s %3s  %s' "$name" "$rel" "$FUZZTIME" "${execs:-0}" "$crashers" "$result")")
done <<<"$targets"

echo
printf '%-28s %-22s %-8s %12s %3s  %s\n' target package time execs crashers result
printf '%s\n' "${summary[@]}"
echo "logs: $logs"
exit $status
