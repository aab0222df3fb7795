/* The receive ring between a board's UART interrupt and board_getc (rxring.c). */
#ifndef FW_RXRING_H
#define FW_RXRING_H

#include <stdint.h>

/* Called by the UART interrupt for every received byte; a full ring drops the byte (the frame
 * then fails its CRC and the host sends it again). */
void fw_rx_push(uint8_t byte);

/* Nonzero while the ring has room for another byte. A board with a UART that holds bytes back
 * (flow control: FW_RX_FLOW) stops taking them when the ring is full, masks its receive
 * interrupt, and unmasks it in board_rx_resume(), which board_getc calls after each byte taken. */
int fw_rx_room(void);
#ifdef FW_RX_FLOW
void board_rx_resume(void);
#endif

#endif
