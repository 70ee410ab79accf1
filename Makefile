# roko-ptpd — the two commands a newcomer runs are `sudo make demo` and
# `make test`. Each installs what it needs (see scripts/deps.sh).

GO        ?= go
PKGS      ?= ./...
BIN       ?= bin
FUZZTIME  ?= 30s
BENCHTIME ?= 1s
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck

CMDS := $(notdir $(wildcard cmd/*))

.PHONY: all build test test-short bench bench-compare servo-report capacity fuzz lint deps demo demo-gps install clean

all: build

## build: compile every command into ./bin
build:
	@mkdir -p $(BIN)
	@for c in $(CMDS); do \
	  [ -f cmd/$$c/main.go ] || continue; \
	  echo "go build -o $(BIN)/$$c ./cmd/$$c"; \
	  $(GO) build -trimpath -o $(BIN)/$$c ./cmd/$$c || exit 1; \
	done

## deps: install the Debian packages the tests need, where we can
deps:
	@./scripts/deps.sh

## test: vet and the whole test suite (the one CI runs)
test: deps
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -parallel 4 -timeout 12m $(PKGS)
	cd bench && $(GO) test -count=1 .

## test-short: the suite without the slow namespace and interop tests
test-short:
	$(GO) test -short -count=1 $(PKGS)

## bench: every benchmark with allocation figures
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

## bench-compare: our codec against facebook/time's on the same bytes
## (module bench/), as the benchstat table in the README
bench-compare:
	@[ -x "$$($(GO) env GOPATH)/bin/benchstat" ] || $(GO) install golang.org/x/perf/cmd/benchstat@latest
	cd bench && $(GO) test -run '^$$' -bench . -benchmem -count 10 . > ../bench-compare.txt
	"$$($(GO) env GOPATH)/bin/benchstat" -col /impl bench-compare.txt

## servo-report: the servo table of the README: roko-ptpd's servos against
## linuxptp 4.4's C servos (gcc and the linuxptp 4.4 tarball, see internal/linuxptpservo)
servo-report:
	$(GO) test ./servo/ -run '^TestServoReport$$' -count=1 -v

## capacity: the unicast grandmaster capacity table of the README, roko-ptpd
## against ptp4l (needs root; CLIENTS, RATES, MEASURE: see the script)
capacity: deps build
	@./scripts/capacity.sh

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## lint: gofmt, go vet and staticcheck must all be clean
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet $(PKGS)
	@[ -x $(STATICCHECK) ] || $(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	$(STATICCHECK) $(PKGS)

## demo: a grandmaster and a client in network namespaces (needs root)
demo: deps build
	@./scripts/demo.sh

## demo-gps: a GPS grandmaster on emulated hardware and a client (needs root)
demo-gps: deps build
	@./scripts/demo-gps.sh

## install: the commands into $(PREFIX)/sbin and the systemd units
PREFIX     ?= /usr/local
SYSTEMDDIR ?= /etc/systemd/system
install: build
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(SYSTEMDDIR)
	@for c in $(CMDS); do [ -f $(BIN)/$$c ] && install -m 0755 $(BIN)/$$c $(DESTDIR)$(PREFIX)/sbin/ || true; done
	install -m 0644 dist/systemd/roko-ptpd.service dist/systemd/roko-ptpd@.service $(DESTDIR)$(SYSTEMDDIR)/
	@[ -n "$(DESTDIR)" ] || systemctl daemon-reload 2>/dev/null || true

clean:
	rm -rf $(BIN)
