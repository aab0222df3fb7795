/* CRC-32 (IEEE 802.3, as Python's zlib.crc32) of the frames: cport's, so the model files and the
 * frames share one implementation. Start with crc = 0 and feed any number of pieces. */
#ifndef FW_CRC32_H
#define FW_CRC32_H

#include "erbp.h"

#define fw_crc32 erbp_crc32

#endif
