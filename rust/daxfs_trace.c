// SPDX-License-Identifier: GPL-2.0
/*
 * Instantiates the daxfs trace events (rust/daxfs_trace.h) and the
 * rust_do_trace_*() functions through which Rust fires them.
 */
#define CREATE_TRACE_POINTS
#define CREATE_RUST_TRACE_POINTS
#include "daxfs_trace.h"
