# SPDX-License-Identifier: MIT
# libvmclock: reader and writer of the VMClock page.

LIB_SRCS := $(sort $(wildcard lib/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
LIBVMCLOCK := $(O)/lib/libvmclock.a

$(LIB_OBJS): CFLAGS += -fvisibility=hidden -fPIC

$(LIBVMCLOCK): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)$(AR) rcs $@ $^

BINS += $(LIBVMCLOCK)
