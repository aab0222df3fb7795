/* Netduino Plus 2 (STM32F405RG, Cortex-M4). Serial link: USART1 (PA9 TX, PA10 RX, AF7) at
 * 115200 8N1, register-level: SR +0x00 (RXNE bit 5, TXE bit 7), DR +0x04, BRR +0x08,
 * CR1 +0x0C (UE bit 13, TE bit 3, RE bit 2). QEMU 7.2's netduinoplus2 wires its first `-serial`
 * to USART1 (stm32f2xx_usart model; it ignores RCC, GPIO and BRR). The core runs from the 16 MHz
 * HSI after reset (no PLL set-up, which QEMU's unimplemented RCC could not confirm); QEMU runs
 * it at its fixed 168 MHz sysclk, the frequency the cycle counter reports. Addresses, sizes and
 * that clock come from the board table (boards/boards.toml) as FW_BOARD_* macros. */
#include "../../src/board.h"
#include "../common/rxring.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define RCC_AHB1ENR REG(0x40023830u)
#define RCC_APB2ENR REG(0x40023844u)
#define GPIOA_MODER REG(0x40020000u)
#define GPIOA_AFRH REG(0x40020024u)
#define USART1 FW_BOARD_UART_BASE
#define USART_SR REG(USART1 + 0x00u)
#define USART_DR REG(USART1 + 0x04u)
#define USART_BRR REG(USART1 + 0x08u)
#define USART_CR1 REG(USART1 + 0x0Cu)
#define SR_RXNE (1u << 5)
#define SR_TXE (1u << 7)
#define CR1_UE (1u << 13)
#define CR1_TE (1u << 3)
#define CR1_RE (1u << 2)
#define CR1_RXNEIE (1u << 5)
#define NVIC_ISER1 REG(0xE000E104u)
#define USART1_IRQ 37u

#define HSI_HZ 16000000u
#define QEMU_SYSCLK_HZ FW_BOARD_COUNTER_HZ

void cortexm_cycles_start(void);
void board_irq(void);

void board_init(void)
{
    RCC_AHB1ENR |= 1u;       /* GPIOA clock */
    RCC_APB2ENR |= 1u << 4;  /* USART1 clock */
    GPIOA_MODER = (GPIOA_MODER & ~(0xFu << 18)) | (0xAu << 18); /* PA9, PA10: alternate */
    GPIOA_AFRH = (GPIOA_AFRH & ~(0xFFu << 4)) | (0x77u << 4);   /* AF7 = USART1 */
    USART_BRR = (8u << 4) | 11u; /* 16 MHz / (16 * 8.6875) = 115108 baud (-0.08 %) */
    USART_CR1 = CR1_UE | CR1_TE | CR1_RE | CR1_RXNEIE;
    NVIC_ISER1 = 1u << (USART1_IRQ - 32u);
    cortexm_cycles_start();
}

void board_irq(void)
{
    while (USART_SR & SR_RXNE) {
        fw_rx_push((uint8_t)USART_DR); /* reading DR clears RXNE */
    }
}

void board_write(const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        while ((USART_SR & SR_TXE) == 0) {
        }
        USART_DR = data[i];
    }
}

uint32_t board_cycles_hz(void)
{
    return QEMU_SYSCLK_HZ;
}
