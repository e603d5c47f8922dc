/**
 * rtm_protocol of every route Tabby writes, so it finds its own routes again after a
 * restart and never touches anyone else's. 88 is free in iproute2's rt_protos (and
 * FRR's rt_protos.d) and differs from Calico's BIRD (12) and Felix (80).
 */
export const RTPROT_TABBY = 88;
