/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers whose declarations daxfs needs and kernel::bindings lacks. bindgen
 * reads this file at build time with the kernel's own clang flags; types that
 * kernel::bindings already has are not generated again (see scripts/module-bindgen.sh).
 */
#include <linux/crc32.h>
#include <linux/dax.h>
#include <linux/exportfs.h>
#include <linux/fileattr.h>
#include <linux/filelock.h>
#include <linux/iomap.h>
#include <linux/fs_context.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <linux/statfs.h>

#include "daxfs_glue.h"
#include "daxfs_trace.h"
