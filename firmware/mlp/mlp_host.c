/* The board layer of the int8 MLP benchmark app on the PC (tests): stdout for the serial link,
 * no cycle counter. */
#include <stdio.h>

#include "../src/board.h"

void board_init(void)
{
}

void board_write(const uint8_t *data, size_t n)
{
    fwrite(data, 1, n, stdout);
}

uint64_t board_cycles(void)
{
    return 0;
}

uint32_t board_cycles_hz(void)
{
    return 0;
}
