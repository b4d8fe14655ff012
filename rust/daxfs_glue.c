// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of the daxfs module: only what Rust cannot express, such as
 * wrappers of static inline functions and macros.
 */
#include <linux/fs_context.h>

void daxfs_fc_error(struct fs_context *fc, const char *msg);

void daxfs_fc_error(struct fs_context *fc, const char *msg)
{
	errorfc(fc, "%s", msg);
}
