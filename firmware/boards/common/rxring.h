/* The receive ring between a board's UART interrupt and board_getc (rxring.c). */
#ifndef FW_RXRING_H
#define FW_RXRING_H

#include <stdint.h>

/* Called by the UART interrupt for every received byte; a full ring drops the byte (the frame
 * then fails its CRC and the host sends it again). */
void fw_rx_push(uint8_t byte);

#endif
