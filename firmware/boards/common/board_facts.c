/* What a board says about itself in HELLO, from the board table (boards/boards.toml): the Makefile
 * passes each board's name and RAM size as FW_BOARD_NAME and FW_BOARD_RAM_BYTES. */
#include "../../src/board.h"

#if !defined(FW_BOARD_NAME) || !defined(FW_BOARD_RAM_BYTES)
#error "build boards with the Makefile: it passes FW_BOARD_* from boards/boards.toml"
#endif

const char board_name[] = FW_BOARD_NAME;
const uint32_t board_ram_bytes = FW_BOARD_RAM_BYTES;
