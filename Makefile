# chanfitness build, test and benchmark entry points.
GO ?= go
BIN := $(CURDIR)/bin

.PHONY: build test unit demo bench fmt fmt-check vet lint staticcheck \
	clean itest-bins fuzz

# The lnd integration test runs real lnd and btcd, built once per version.
LND_VERSION := v0.21.1-beta
LND_BINS := $(CURDIR)/.cache/lnd-$(LND_VERSION)

# build: every binary (each package under a cmd/ directory) into bin/.
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $$($(GO) list ./... | grep '/cmd/')

# Fuzz targets run this long each in make test, and FUZZTIME each in
# make fuzz (for example make fuzz FUZZTIME=10m).
TEST_FUZZTIME := 3s
FUZZTIME ?= 1m

# staticcheck, pinned, is installed from the Go module proxy into .cache/
# the first time.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(CURDIR)/.cache/staticcheck-$(STATICCHECK_VERSION)/staticcheck

# test: what CI runs on a fresh machine; the store's corruption matrix
# runs without the race detector (it is serial, and slow under it).
test: lint itest-bins
	CHANFITNESS_LND_BINS=$(LND_BINS) $(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run '^TestCorruption$$' ./storage/badger/
	GO=$(GO) scripts/fuzz.sh $(TEST_FUZZTIME)

# fuzz: every fuzz target of every package, FUZZTIME each.
fuzz:
	GO=$(GO) scripts/fuzz.sh $(FUZZTIME)

# itest-bins: lnd, lncli, btcd and btcctl from the Go module proxy into
# .cache/ (about 5 minutes on 2 cores the first time, then nothing).
itest-bins:
	GO=$(GO) plugin/lnd/itest/build-bins.sh $(LND_VERSION) $(LND_BINS)

# demo: 30 simulated days of a 50-peer node on a badger store.
demo:
	$(GO) run ./examples/demo

# bench: Go benchmarks with the figures the issues ask for, one package at
# a time so that they do not share the CPUs, ending with the lnd/ours table
# (benchtable fails the target if a benchmark failed).
bench:
	$(GO) test -p 1 -run '^$$' -bench . -benchmem ./... | \
		$(GO) run ./plugin/lnd/equivalence/benchtable

fmt:
	gofmt -w $$(git ls-files '*.go')

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# lint: gofmt check, go vet and staticcheck.
lint: fmt-check vet staticcheck

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...

$(STATICCHECK):
	GOBIN=$(dir $(STATICCHECK)) $(GO) install \
		honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

clean:
	rm -rf $(BIN) demo-data
