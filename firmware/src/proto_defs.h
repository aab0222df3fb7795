/* The erbp board protocol, version 2 (docs/protocol.md): message types, error codes, layouts.
 * host/boards/client.py mirrors these numbers; a test checks that the two agree. */
#ifndef FW_PROTO_DEFS_H
#define FW_PROTO_DEFS_H

#define FW_PROTOCOL_VERSION 2u

/* Frame payload (before COBS): header, body, CRC-32 of header+body. All little-endian. */
#define FW_HDR_BYTES 8u /* u8 version, u8 type, u16 flags (0), u32 seq */
#define FW_CRC_BYTES 4u
#define FW_MIN_FRAME (FW_HDR_BYTES + FW_CRC_BYTES)

/* Requests; the answer to request T has type T | 0x80, or is an ERROR. */
#define FW_MSG_HELLO 0x01u
#define FW_MSG_LOAD_BEGIN 0x02u
#define FW_MSG_LOAD_CHUNK 0x03u
#define FW_MSG_LOAD_END 0x04u
#define FW_MSG_SAMPLE 0x05u
#define FW_MSG_MODEL_READ 0x06u
#define FW_MSG_STATE_READ 0x07u
#define FW_MSG_RESET 0x08u
#define FW_MSG_REPLY 0x80u
#define FW_MSG_ERROR 0xFFu

/* Error codes (body of an ERROR: u16 code, u16 0, u32 value, ASCII message). */
#define FW_ERR_CRC 1u          /* frame CRC mismatch */
#define FW_ERR_FRAMING 2u      /* not valid COBS, or shorter than header + CRC */
#define FW_ERR_TOO_LONG 3u     /* frame longer than the receive buffer (value = max payload) */
#define FW_ERR_VERSION 4u      /* other protocol version (value = the board's version) */
#define FW_ERR_UNKNOWN_TYPE 5u /* unknown message type (value = type) */
#define FW_ERR_LENGTH 6u       /* body length wrong for the type (value = expected length) */
#define FW_ERR_NO_MODEL 7u     /* no model loaded (after boot, reset or a failed load) */
#define FW_ERR_OFFSET 8u       /* chunk offset out of order (value = expected offset) */
#define FW_ERR_NOT_LOADING 9u  /* LOAD_CHUNK / LOAD_END without LOAD_BEGIN */
#define FW_ERR_MODEL 10u       /* model refused by the loader (message says why) */
#define FW_ERR_NO_MEMORY 11u   /* model needs more memory than the board has (value = available) */
#define FW_ERR_ARGUMENT 12u    /* bad field in a request (mode, label, pixel count, offset) */
#define FW_ERR_FLAGS 13u       /* nonzero header flags (reserved) */

/* Sample modes, in the low bits of the SAMPLE mode byte; bit 7 says the pixels are coded as zero
 * runs: token t < 0x80: t + 1 literal pixels follow; t >= 0x80: t - 0x7F zero pixels. */
#define FW_MODE_INFER 0u
#define FW_MODE_TRAIN 1u
#define FW_SAMPLE_ZRUN 0x80u

#define FW_BOARD_NAME_BYTES 16u
#define FW_MAX_CHUNK 1024u /* largest data chunk of LOAD_CHUNK / MODEL_READ / STATE_READ */

#endif
