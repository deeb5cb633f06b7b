# The two entry points of README.md: `make demo` and `make test`. Each installs what it needs.
SWIFT ?= swift
TRUEUP := .build/debug/trueup

.PHONY: demo test build release deps test-deps schemas bench sanitize clean

deps:
	@scripts/setup-deps

test-deps:
	@scripts/setup-deps --test

build: deps
	$(SWIFT) build

# The build to ship and to measure: optimised, with the Swift runtime and Foundation linked in.
release: deps
	$(SWIFT) build -c release --static-swift-stdlib --product trueup
	@echo "built $$($(SWIFT) build -c release --static-swift-stdlib --show-bin-path)/trueup"

# trueup's main job on the embedded default: apply the example's dev environment locally.
demo: build
	scripts/demo

test: test-deps
	$(SWIFT) build
	$(SWIFT) test
	.venv/bin/python Tests/SchemaAgreement/check_agreement.py --trueup $(TRUEUP)
	python3 Tests/TrueupDiffTests/test_upsert_comment.py
	$(SWIFT) build -c release --static-swift-stdlib --product trueup
	python3 Tests/ReleaseSmoke/release_smoke.py --trueup $$($(SWIFT) build -c release --static-swift-stdlib --show-bin-path)/trueup

# The test suite under AddressSanitizer (with LeakSanitizer), then under ThreadSanitizer, each in
# a scratch folder of its own (a sanitized build cannot share .build with the normal one). Slow:
# tens of minutes. The suppressions cover leaks in other libraries and ThreadSanitizer's blindness
# to Synchronization.Mutex (see each file). The environment reaches the trueup processes the tests
# start, so they are checked too.
sanitize: test-deps
	$(SWIFT) build --sanitize=address --scratch-path .build-asan --build-tests
	LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Sanitizers/lsan-suppressions.txt \
		$(SWIFT) test --sanitize=address --scratch-path .build-asan --skip-build
	$(SWIFT) build --sanitize=thread --scratch-path .build-tsan --build-tests
	TSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Sanitizers/tsan-suppressions.txt \
		$(SWIFT) test --sanitize=thread --scratch-path .build-tsan --skip-build

# Regenerate the schemas built into the binary from schemas/*.schema.json.
schemas:
	scripts/embed-schemas

# Spec loading against libyaml; plan, apply and diff; the controller's latency and idle cost.
bench: deps
	Benchmarks/run
	Benchmarks/run-engine
	Benchmarks/run-controller
	Benchmarks/run-scale

clean:
	rm -rf .build .build-asan .build-tsan .venv
