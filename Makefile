# morph - build.  Out-of-tree into $(BUILD); `make SANITIZE=1 BUILD=build/asan`
# gives the AddressSanitizer + UndefinedBehaviorSanitizer build the tests use.

BUILD    ?= build
SANITIZE ?= 0
CC       ?= gcc
V        ?= 0

CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -Werror -g -pthread -Isrc -MMD -MP \
                 -D_GNU_SOURCE -fno-strict-aliasing
ifeq ($(SANITIZE),1)
  CFLAGS_OPT := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=undefined
  LDFLAGS_SAN := -fsanitize=address,undefined
else
  CFLAGS_OPT := -O2
  LDFLAGS_SAN :=
endif
# libslirp (user networking, src/host/net_slirp.c): flags from pkg-config.
SLIRP_CFLAGS := $(shell pkg-config --cflags slirp 2>/dev/null)
SLIRP_LIBS   := $(shell pkg-config --libs slirp 2>/dev/null || echo -lslirp)
CFLAGS  += $(CFLAGS_COMMON) $(CFLAGS_OPT) $(SLIRP_CFLAGS)
LDLIBS  += -pthread -lcapstone -lm $(SLIRP_LIBS)
LDFLAGS += $(LDFLAGS_SAN)

SRCS      := $(shell find src -name '*.c' | sort)
LIB_SRCS  := $(filter-out src/main.c,$(SRCS))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ  := $(BUILD)/obj/src/main.o
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_SUPPORT := $(filter-out $(TEST_SRCS),$(wildcard tests/unit/*.c))
TEST_SUPPORT_OBJS := $(TEST_SUPPORT:%.c=$(BUILD)/obj/%.o)

.PHONY: all morph tests guests asan clean setup demo check bench
all: morph

morph: $(BUILD)/morph
tests: $(TEST_BINS)

$(BUILD)/morph: $(MAIN_OBJ) $(BUILD)/libmorph.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libmorph.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_SUPPORT_OBJS) $(BUILD)/libmorph.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

# morph's network backend on a UDP socket (tests the backend with QEMU as
# the guest's NIC: tests/system/disk_net.py --vmm qemu-relay).
$(BUILD)/net_relay: $(BUILD)/obj/tests/tools/net_relay.o $(BUILD)/libmorph.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Guest test programs (freestanding 32-bit, Multiboot) and the test ROM.
guests:
	$(MAKE) -C tests/guest

asan:
	$(MAKE) BUILD=build/asan SANITIZE=1 morph tests

setup:
	tools/setup.sh

# The README's two commands.
demo:
	tools/setup.sh
	$(MAKE) morph guests
	tools/demo.sh

check:
	tools/setup.sh
	tools/check.sh

bench:
	tools/setup.sh
	$(MAKE) morph guests
	bench/run.sh

clean:
	rm -rf build
	$(MAKE) -C tests/guest clean

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
