# fangkong — build, run, test, bench.
#   make run                         install what is missing, build, demo city, serve
#   make test                        install, build (plain and sanitized), run every suite
#   make bench                       benchmarks against baselines run in the same run
#   make SANITIZE=address,undefined  sanitized build in build-san/
#   make fuzz                        libFuzzer run of the CSV reader (needs clang)
#   make fuzz-parsers                libFuzzer run of the small parsers (needs clang)

CC      ?= cc
PKGS    := sqlite3 libmicrohttpd jansson libsodium libqrencode libpng freetype2 inih xlsxwriter
STRICT  := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla
CPPFLAGS += -D_GNU_SOURCE -Isrc
OPT     ?= -O2 -g

ifneq ($(SANITIZE),)
BUILD   ?= build-san
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) \
           -fno-sanitize-recover=all -DFK_DEBUG_ARENA=1
LDSAN   := -fsanitize=$(SANITIZE)
else
BUILD   ?= build
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  += $(STRICT) $(OPT) $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread -lm

SRC      := $(shell find src -name '*.c' | sort)
LIB_SRC  := $(filter-out src/main.c,$(SRC))
OBJ      := $(SRC:%.c=$(BUILD)/%.o)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)

.PHONY: all deps run test bench clean format fuzz fuzz-parsers
all: $(BUILD)/fangkong $(BUILD)/test-unit

$(BUILD)/fangkong: $(OBJ)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

$(BUILD)/test-unit: $(UNIT_OBJ) $(LIB_OBJ)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(LDLIBS) -lcriterion

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(BUILD)/bench/trace_bench.d

# The contact engine timed on a generated city (bench/trace.sh).
$(BUILD)/trace-bench: $(BUILD)/bench/trace_bench.o $(LIB_OBJ)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

deps:
	@./scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory build/fangkong
	@./scripts/run.sh

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SANITIZE=address,undefined all
	@./tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory build/fangkong build/trace-bench
	@./bench/run.sh

format:
	clang-format -i $(SRC) $(shell find src -name '*.h') $(UNIT_SRC)

clean:
	rm -rf build build-san

# libFuzzer targets (need clang; not part of `make test`, which replays the
# committed corpus instead).  `make fuzz` builds build/fuzz_csv and runs it
# for FUZZ_SECONDS; new inputs go to build/fuzz-corpus/csv, the committed
# seeds in tests/fuzz/corpus/csv are only read.  Add a crasher there once fixed.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_LIB     := src/lib/csv.c src/lib/strbuf.c src/lib/err.c src/lib/util.c

fuzz: build/fuzz_csv
	@mkdir -p build/fuzz-corpus/csv
	build/fuzz_csv -max_total_time=$(FUZZ_SECONDS) -max_len=20000 \
		build/fuzz-corpus/csv tests/fuzz/corpus/csv

build/fuzz_csv: tests/fuzz/fuzz_csv.c tests/fuzz/csv_check.h $(FUZZ_LIB) src/lib/*.h
	@mkdir -p build
	$(FUZZ_CC) $(CPPFLAGS) $(STRICT) -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ tests/fuzz/fuzz_csv.c $(FUZZ_LIB)

# The small parsers (times, integers, ID numbers and phones, region codes,
# text encodings, paging cursors): one target, the first input byte picks the
# parser (tests/fuzz/parsers_check.h).  The cursor lives in the HTTP server,
# so this links the whole library and its packages.
# FUZZ_BUILD (default build) holds the binary and the grown corpus.
FUZZ_PARSERS_LIB := $(LIB_SRC)
FUZZ_BUILD       ?= build

fuzz-parsers: $(FUZZ_BUILD)/fuzz_parsers
	@mkdir -p $(FUZZ_BUILD)/fuzz-corpus/parsers
	$(FUZZ_BUILD)/fuzz_parsers -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		$(FUZZ_BUILD)/fuzz-corpus/parsers tests/fuzz/corpus/parsers

$(FUZZ_BUILD)/fuzz_parsers: tests/fuzz/fuzz_parsers.c tests/fuzz/parsers_check.h \
		$(FUZZ_PARSERS_LIB) $(shell find src -name '*.h')
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(CPPFLAGS) $(STRICT) $(PKG_CFLAGS) -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ \
		tests/fuzz/fuzz_parsers.c $(FUZZ_PARSERS_LIB) $(PKG_LIBS) -lpthread -lm
