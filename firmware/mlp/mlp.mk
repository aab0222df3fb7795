# The int8 MLP benchmark app (mlp/, benchmarks/bench_mlp.py), included by the firmware Makefile:
#
#   make mlp MLP_BOARD=NAME MLP_MODEL=DIR    DIR/mlp-NAME.elf for a board of the board table (its
#                                            core, flags, memory map and board layer) from
#                                            DIR/mlp_model.h (erbp.research.int8_mlp.c_header)
#   make mlp MLP_BOARD=host MLP_MODEL=DIR    DIR/mlp-host, on the PC with ASan + UBSan (tests)
#
# MLP_CFLAGS adds flags (-DERBP_NO_DSP: the portable kernel on a core with the DSP extension).
MLP_SRC := mlp/erbp_fc_s8.c mlp/mlp_bench.c
MLP_DEPS := Makefile mlp/mlp.mk $(MLP_SRC) mlp/erbp_fc_s8.h mlp/mlp_bench.h src/board.h \
            $(wildcard $(CPORT)/include/*.h) $(MLP_MODEL)/mlp_model.h

.PHONY: mlp
ifeq ($(and $(MLP_MODEL),$(MLP_BOARD)),)
mlp:
	@echo "make mlp needs MLP_BOARD=NAME (a board of boards/boards.toml, or host) and MLP_MODEL=DIR (holding mlp_model.h)"; exit 2
else ifeq ($(MLP_BOARD),host)
mlp: $(MLP_MODEL)/mlp-host

$(MLP_MODEL)/mlp-host: $(MLP_DEPS) mlp/mlp_host.c
	$(HOST_CC) $(WARN) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer $(INC) -Imlp -I$(MLP_MODEL) $(MLP_CFLAGS) $(MLP_SRC) mlp/mlp_host.c -o $@
else
mlp: $(MLP_MODEL)/mlp-$(MLP_BOARD).elf

$(MLP_MODEL)/mlp-$(MLP_BOARD).elf: $(MLP_DEPS) $(BOARDS_MK) $(COMMON_SRC) $(SRC_$(MLP_BOARD))
	$(CC_$(ARCH_$(MLP_BOARD))) $(WARN) $(FREESTANDING) $(INC) -Imlp -I$(MLP_MODEL) $(CFLAGS_$(MLP_BOARD)) \
	    $(MLP_CFLAGS) $(MLP_SRC) $(COMMON_SRC) $(SRC_$(MLP_BOARD)) $(FW_LDFLAGS) \
	    $(LDFLAGS_$(MLP_BOARD)) -Wl,-Map=$(MLP_MODEL)/mlp-$(MLP_BOARD).map -lgcc -o $@
endif
