# Shared settings for the test program Makefiles.
# Usage: make -C testprogs/FEATURE OUT=/abs/out/dir SHIMLD=/abs/path/to/shimld

# `all` is the default goal even though rules below come first; files made by
# pattern rules are kept.
.DEFAULT_GOAL := all
.SECONDARY:
# A target whose recipe fails (a `require` check included) is removed, so
# that the next build does not take it as made.
.DELETE_ON_ERROR:
# Build in parallel; the integration tests run make serially.
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)

TESTPROGS := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
ifndef OUT
$(error OUT must name the output directory)
endif
SHIMLD ?= $(abspath $(TESTPROGS)/../target/release/shimld)
CC ?= cc
LDSO := /lib64/ld-linux-x86-64.so.2

# Libc-free code: position-independent, freestanding, with nolibc.h.
NOLIBC_CFLAGS := -O2 -g -Wall -fPIC -ffreestanding -fno-builtin -fno-stack-protector \
	-fno-asynchronous-unwind-tables -I$(TESTPROGS)/include
# Every library named becomes DT_NEEDED, in order (Debian's gcc passes --as-needed).
NOLIBC_LDFLAGS := -nostdlib -nostartfiles -Wl,--no-as-needed

$(shell mkdir -p $(OUT))
# Outputs do not depend on the Makefiles; when the folder's Makefile or this
# file is newer than the stamp, empty $(OUT) (only one this file stamped).
MAKEFILES_STAMP := $(OUT)/.makefiles-stamp
ifneq ($(shell [ -e $(MAKEFILES_STAMP) ] && [ -z "$$(find $(MAKEFILE_LIST) -newer $(MAKEFILES_STAMP))" ] && echo fresh),fresh)
$(shell [ -e $(MAKEFILES_STAMP) ] && find $(OUT) -mindepth 1 -delete; touch $(MAKEFILES_STAMP))
endif

# The stand-in libc.so.6 (see include/fakelibc.c). Link RTLD_LIBS last to put
# it and ld.so in DT_NEEDED; the program then may call the fini function and
# use ld.so's __tls_get_addr.
FAKELIBC := $(OUT)/libc.so.6
RTLD_LIBS := -Wl,--no-as-needed $(FAKELIBC) $(LDSO)

$(FAKELIBC): $(TESTPROGS)/include/fakelibc.c $(TESTPROGS)/include/fakelibc.map $(TESTPROGS)/include/nolibc.h
	$(CC) $(NOLIBC_CFLAGS) -shared $(NOLIBC_LDFLAGS) -Wl,-soname,libc.so.6 \
		-Wl,--version-script=$(TESTPROGS)/include/fakelibc.map -o $@ $<

# Executable kinds, added after NOLIBC_CFLAGS (which has -fPIC).
PIE := -fPIE -pie
NOPIE := -fno-PIC -no-pie
# Run-time search path next to the program; '$$ORIGIN' reaches the shell as $ORIGIN.
RPATH_ORIGIN := -Wl,-rpath,'$$ORIGIN'

# Ordinary glibc programs (gcc and g++ defaults, not libc-free): every library
# named is DT_NEEDED, and the run-path next to the program is a DT_RUNPATH.
GLIBC_CFLAGS := -O2 -g -Wall -fPIC -I$(TESTPROGS)/include
GLIBC_LDFLAGS := -Wl,--no-as-needed -Wl,--enable-new-dtags $(RPATH_ORIGIN)

# tools/relpatch.c, a host tool that edits dynamic relocations and tags.
RELPATCH := $(OUT)/relpatch
$(RELPATCH): $(TESTPROGS)/tools/relpatch.c
	$(CC) -O2 -Wall -o $@ $<

# $(call require,FILE,PATTERN,WHAT): fail the build unless `readelf -drVW FILE`
# shows PATTERN, so that a case cannot silently stop testing WHAT.
require = readelf -dW -rW -V $(1) | grep -qE '$(2)' || { echo "$(1): $(3) missing" >&2; exit 1; }
