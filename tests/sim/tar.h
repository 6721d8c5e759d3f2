/* Tar headers as XVA files use them (ocaml-tar: ustar, mode 0400, owner 0,
 * time 0). */
#ifndef SIM_TAR_H
#define SIM_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAR_BLOCK 512

/* A header for a regular file (name up to 99 bytes). */
void tar_header(unsigned char out[TAR_BLOCK], const char *name, uint64_t size);

enum tar_parsed { TAR_FILE, TAR_END, TAR_BAD };
/* Reads a header block: TAR_END for the all-zero end block, TAR_BAD when
 * the checksum or the size field is wrong. */
enum tar_parsed tar_parse(const unsigned char in[TAR_BLOCK], char *name, size_t namelen, uint64_t *size);

/* Zero bytes that follow a member of this size. */
size_t tar_padding(uint64_t size);

#endif
