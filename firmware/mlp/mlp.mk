# The int8 MLP benchmark app (mlp/, benchmarks/bench_mlp.py), included by the firmware Makefile:
#
#   make mlp MLP_BOARD=NAME MLP_MODEL=DIR    DIR/mlp-NAME.elf for a board of the board table (its
#                                            core, flags, memory map and board layer) from
#                                            DIR/mlp_model.h (erbp.research.int8_mlp.c_header)
#   make mlp MLP_BOARD=host MLP_MODEL=DIR    DIR/mlp-host, on the PC with ASan + UBSan (tests)
#   make mlp ... MLP_KERNEL=cmsis-nn         the layers through CMSIS-NN's arm_fully_connected_s8
#                                            (mlp/third_party/cmsis-nn, vendored unmodified)
#                                            instead of erbp_fc_s8: DIR/mlp-NAME-cmsis-nn.elf
#                                            (DIR/mlp-host-cmsis-nn)
#
# MLP_CFLAGS adds flags (-DERBP_NO_DSP: erbp_fc_s8's portable path on a core with the DSP
# extension). CMSIS-NN's files are compiled as CMSIS-NN builds them, -O2 for the board's core as
# a hosted library (memcpy a builtin; not -ffreestanding), with our warnings but those of the
# -Wconversion family, which they do not follow; our files keep every warning.
MLP_KERNEL ?= erbp
MLP_SRC := mlp/erbp_fc_s8.c mlp/mlp_bench.c
MLP_DEPS := Makefile mlp/mlp.mk $(MLP_SRC) mlp/erbp_fc_s8.h mlp/mlp_bench.h src/board.h \
            $(wildcard $(CPORT)/include/*.h) $(MLP_MODEL)/mlp_model.h

CMSIS_NN := mlp/third_party/cmsis-nn
CMSIS_NN_SRC := $(CMSIS_NN)/Source/FullyConnectedFunctions/arm_fully_connected_s8.c \
                $(CMSIS_NN)/Source/NNSupportFunctions/arm_nn_vec_mat_mult_t_s8.c
CMSIS_NN_INC := -I$(CMSIS_NN)/Include
CMSIS_NN_WARN := $(WARN) -Wno-conversion -Wno-sign-conversion

ifeq ($(MLP_KERNEL),erbp)
MLP_SUFFIX :=
MLP_KERNEL_SRC :=
MLP_KERNEL_FLAGS :=
else ifeq ($(MLP_KERNEL),cmsis-nn)
MLP_SUFFIX := -cmsis-nn
MLP_KERNEL_SRC := mlp/mlp_cmsis.c
MLP_KERNEL_FLAGS := -DMLP_CMSIS_NN $(CMSIS_NN_INC)
MLP_DEPS += mlp/mlp_cmsis.c mlp/mlp_cmsis.h $(CMSIS_NN_SRC) $(wildcard $(CMSIS_NN)/Include/*.h) \
            $(wildcard $(CMSIS_NN)/Include/Internal/*.h)
endif
# CMSIS-NN's objects of one image: DIR/cmsis-nn-NAME/*.o
MLP_CMSIS_DIR = $(MLP_MODEL)/cmsis-nn-$(MLP_BOARD)
MLP_CMSIS_OBJ = $(if $(MLP_KERNEL_SRC),$(patsubst %.c,$(MLP_CMSIS_DIR)/%.o,$(notdir $(CMSIS_NN_SRC))))

.PHONY: mlp
ifeq ($(and $(MLP_MODEL),$(MLP_BOARD)),)
mlp:
	@echo "make mlp needs MLP_BOARD=NAME (a board of boards/boards.toml, or host) and MLP_MODEL=DIR (holding mlp_model.h)"; exit 2
else ifeq ($(filter erbp cmsis-nn,$(MLP_KERNEL)),)
mlp:
	@echo "MLP_KERNEL=$(MLP_KERNEL): erbp (erbp_fc_s8, the default) or cmsis-nn"; exit 2
else ifeq ($(MLP_BOARD),host)
MLP_CMSIS_CC := $(HOST_CC) $(CMSIS_NN_WARN) -O1 -g -fsanitize=address,undefined \
                -fno-sanitize-recover=all -fno-omit-frame-pointer $(CMSIS_NN_INC)
mlp: $(MLP_MODEL)/mlp-host$(MLP_SUFFIX)

$(MLP_MODEL)/mlp-host$(MLP_SUFFIX): $(MLP_DEPS) mlp/mlp_host.c $(MLP_CMSIS_OBJ)
	$(HOST_CC) $(WARN) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer $(INC) -Imlp -I$(MLP_MODEL) $(MLP_KERNEL_FLAGS) $(MLP_CFLAGS) \
	    $(MLP_SRC) $(MLP_KERNEL_SRC) mlp/mlp_host.c $(MLP_CMSIS_OBJ) -o $@
else
MLP_CMSIS_CC := $(CC_$(ARCH_$(MLP_BOARD))) $(CMSIS_NN_WARN) -O2 -g -ffunction-sections \
                -fdata-sections $(filter -mcpu=% -mthumb -march=% -mabi=% -mfloat-abi=%,\
                $(CFLAGS_$(MLP_BOARD))) $(CMSIS_NN_INC)
mlp: $(MLP_MODEL)/mlp-$(MLP_BOARD)$(MLP_SUFFIX).elf

$(MLP_MODEL)/mlp-$(MLP_BOARD)$(MLP_SUFFIX).elf: $(MLP_DEPS) $(BOARDS_MK) $(COMMON_SRC) \
                                                $(SRC_$(MLP_BOARD)) $(MLP_CMSIS_OBJ)
	$(CC_$(ARCH_$(MLP_BOARD))) $(WARN) $(FREESTANDING) $(INC) -Imlp -I$(MLP_MODEL) $(CFLAGS_$(MLP_BOARD)) \
	    $(MLP_KERNEL_FLAGS) $(MLP_CFLAGS) $(MLP_SRC) $(MLP_KERNEL_SRC) $(MLP_CMSIS_OBJ) \
	    $(COMMON_SRC) $(SRC_$(MLP_BOARD)) $(FW_LDFLAGS) $(LDFLAGS_$(MLP_BOARD)) \
	    -Wl,-Map=$(basename $@).map -lgcc -o $@
endif

$(MLP_CMSIS_DIR)/%.o: $(CMSIS_NN)/Source/FullyConnectedFunctions/%.c mlp/mlp.mk $(BOARDS_MK) \
                      $(wildcard $(CMSIS_NN)/Include/*.h $(CMSIS_NN)/Include/Internal/*.h)
	@mkdir -p $(@D)
	$(MLP_CMSIS_CC) -c $< -o $@

$(MLP_CMSIS_DIR)/%.o: $(CMSIS_NN)/Source/NNSupportFunctions/%.c mlp/mlp.mk $(BOARDS_MK) \
                      $(wildcard $(CMSIS_NN)/Include/*.h $(CMSIS_NN)/Include/Internal/*.h)
	@mkdir -p $(@D)
	$(MLP_CMSIS_CC) -c $< -o $@
