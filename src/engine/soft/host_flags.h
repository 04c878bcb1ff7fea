/* host_flags.h - what this host CPU leaves in flags the SDM calls
 * undefined.
 *
 * Translated code runs shifts and multiplies on the host CPU, so it shows
 * the host's values of their undefined flags; the interpreter takes the
 * same values where the host follows a simple rule (probed once when the
 * engine starts), so both engines give the same EFLAGS and an exit trace
 * is the same on both.  Where the host follows no rule the probe can see,
 * the translator runs those instructions in the interpreter instead
 * whenever their flags could be seen (translate.c, F_UND).
 */
#ifndef MORPH_SOFT_HOST_FLAGS_H
#define MORPH_SOFT_HOST_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

enum mul_flags_rule {
    MUL_FLAGS_UNKNOWN,      /* SF ZF AF PF after MUL/IMUL follow no rule seen */
    MUL_FLAGS_ZERO,         /* cleared */
    MUL_FLAGS_FROM_RESULT,  /* SF ZF PF of the low half, AF clear */
};

struct host_flag_rules {
    bool shift_af_known;    /* AF after SHL/SHR/SAR by a count above 0 is a constant: */
    bool shift_af;          /* this one */
    bool shift_of;          /* OF after a count above 1 is the count-1 formula (flags.c) */
    bool rotate_of;         /* likewise after ROL/ROR/RCL/RCR */
    uint8_t mul;            /* enum mul_flags_rule */
    bool dshift_af_known;   /* 32-bit SHLD/SHRD by a count above 0: AF a constant, */
    bool dshift_af;
    bool dshift_of;         /* and OF by the count-1 rule as for SHL/SHR */
    bool bt_keeps;          /* BT* leave OF SF AF PF as they were */
    bool bitscan_keeps;     /* BSF/BSR leave CF OF SF AF PF as they were */
};

void host_flag_rules_probe(struct host_flag_rules *r);

#endif
