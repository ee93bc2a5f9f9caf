# Tamas — make targets. The two a newcomer needs: `make demo` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := bin

.PHONY: demo run build test vet fmt-check fuzz bench clean

# A seeded node with demo agents and a simulated call every few seconds:
# open the printed URL, sign in with a printed login, watch the pops.
demo: build
	$(BIN)/tamas demo

# Serve on the embedded SQLite store with default settings.
run: build
	$(BIN)/tamas serve

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/tamas ./cmd/tamas
	$(GO) build -o $(BIN)/callsim ./cmd/callsim

# Format check, vet and the race-detected test suite, which replays every
# fuzz target's seed corpus. Integration tests use PostgreSQL and Redis on
# 127.0.0.1 when they answer; TAMAS_REQUIRE_SERVICES=1 turns a missing
# service into a failure.
test:
	scripts/test.sh

# Fuzz every target in turn, FUZZTIME each (default 60s): make fuzz FUZZTIME=5m.
fuzz:
	scripts/fuzz.sh

bench:
	scripts/bench.sh

clean:
	rm -rf $(BIN)
