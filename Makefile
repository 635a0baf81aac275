# hcr: the hosted-cluster reconciler.
#
#   make          build bin/hcr
#   make run      install what is missing, build, start `hcr run` (embedded PostgreSQL under ./var)
#   make test     install what is missing, build with ASan/UBSan, run unit and integration tests
#   make lint     clang-format (check), cppcheck, clang-tidy
#   make deps     install the Debian packages hcr needs (idempotent)

PKGS     := libcurl openssl jansson yaml-0.1 libpq libmicrohttpd
CC       ?= cc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lev -lpthread
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
BASEFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(WARN) $(PKG_CFLAGS) -MMD -MP
CFLAGS   ?= -O2 -g
SANFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

SRCS     := $(wildcard src/*.c) $(wildcard providers/*/*.c)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
SCHEMA   := $(sort $(wildcard schema/*.sql))
GEN      := build/gen/schema_sql.c
UNIT_SRCS := $(wildcard tests/unit/test_*.c)

REL_OBJS  := $(SRCS:%.c=build/rel/%.o) build/rel/gen/schema_sql.o
TEST_LIB_OBJS := $(LIB_SRCS:%.c=build/test/%.o) build/test/gen/schema_sql.o
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/test/unit/%)

.PHONY: all run test unit integration lint deps clean build-test format

all: bin/hcr

deps:
	@scripts/deps.sh

bin/hcr: $(REL_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

build/rel/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(BASEFLAGS) $(CFLAGS) -DHCR_VERSION='"$(VERSION)"' -c -o $@ $<

build/rel/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(CFLAGS) -c -o $@ $<

$(GEN): $(SCHEMA) scripts/embed-schema.sh
	@mkdir -p $(@D)
	scripts/embed-schema.sh $(SCHEMA) > $@.tmp && mv $@.tmp $@

# --- tests: everything built again with AddressSanitizer and UBSan -------------------------

build/test/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC/san  $<"
	@$(CC) $(BASEFLAGS) $(SANFLAGS) -DHCR_VERSION='"$(VERSION)-test"' -c -o $@ $<

build/test/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(SANFLAGS) -c -o $@ $<

build/test/libhcr.a: $(TEST_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

build/test/hcr: build/test/src/main.o build/test/libhcr.a
	$(CC) $(SANFLAGS) -o $@ $^ $(PKG_LIBS)

build/test/unit/%: tests/unit/%.c build/test/libhcr.a
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) -Wno-missing-prototypes $(SANFLAGS) -o $@ $< build/test/libhcr.a \
		$(PKG_LIBS) $(CMOCKA_LIBS)

build-test: build/test/hcr $(UNIT_BINS)

test: deps
	@$(MAKE) --no-print-directory -j2 build-test
	@tests/run-tests.sh

# Run only the unit tests, or one: make unit T=test_config
unit: build-test
	@tests/run-tests.sh --unit-only $(T)

integration: build-test
	@tests/run-tests.sh --integration-only $(T)

run: deps
	@$(MAKE) --no-print-directory -j2 bin/hcr
	./bin/hcr run $(ARGS)

LINT_FILES := $(wildcard src/*.c src/*.h include/hcr/*.h providers/*/*.c providers/*/*.h)

lint: $(GEN)
	clang-format --dry-run --Werror $(LINT_FILES) tests/unit/*.c
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem -D__GNUC__ -Iinclude \
		src providers
	clang-tidy --quiet $(filter %.c,$(LINT_FILES)) -- $(BASEFLAGS)

format:
	clang-format -i $(LINT_FILES) tests/unit/*.c

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
