/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C glue's interface to Rust: wrappers of static inline functions and
 * macros, and the mount parameter table. bindgen reads this header, so Rust
 * sees these declarations and constants without restating them.
 */
#ifndef DAXFS_GLUE_H
#define DAXFS_GLUE_H

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/seq_file.h>
#include <linux/mm_types.h>
#include <linux/falloc.h>
#include <linux/workqueue.h>

struct dev_pagemap;

struct dax_device;
struct posix_acl;

/* Mount parameters, as daxfs_parse_param() reports them. */
enum daxfs_param {
	DAXFS_PARAM_DAX,	/* dax alone, as ext4 takes it: dax=always */
	DAXFS_PARAM_DAX_MODE,	/* dax=always|never|inode */
	DAXFS_PARAM_NORECOVERY,	/* norecovery: a read-only mount that recovers nothing */
};

bool daxfs_sb_bdev_read_only(struct super_block *sb);

/* Values of the dax= parameter. */
enum daxfs_dax_mode {
	DAXFS_DAX_ALWAYS,
	DAXFS_DAX_NEVER,
	DAXFS_DAX_INODE,
};

/*
 * file_operations::fop_flags of regular (DAX) files: MAP_SYNC mappings are
 * allowed. The FOP_* macros are casts, which bindgen does not turn into
 * constants.
 */
enum daxfs_fop_flags {
	DAXFS_FOP_DAX_FILE = FOP_MMAP_SYNC,
	/* Files in the page cache: no MAP_SYNC; buffered I/O may be IOCB_NOWAIT. */
	DAXFS_FOP_CACHED_FILE = FOP_BUFFER_RASYNC | FOP_BUFFER_WASYNC,
};

/*
 * file::f_mode bits an open regular (DAX) file gets: O_DIRECT is accepted
 * (DAX reads and writes bypass any cache anyway, as on ext4 and XFS), and
 * RWF_NOWAIT / IOCB_NOWAIT are honoured. Casts too, as above.
 */
enum daxfs_fmode_flags {
	DAXFS_FMODE_DAX_FILE = FMODE_NOWAIT | FMODE_CAN_ODIRECT,
};

/* kiocb::ki_flags bits daxfs tests (casts of RWF_* in the kernel headers). */
enum daxfs_iocb_flags {
	DAXFS_IOCB_NOWAIT = IOCB_NOWAIT,
	DAXFS_IOCB_DIRECT = IOCB_DIRECT,
};

/* fallocate(2) modes (uapi macros, which bindgen skips in kernel headers). */
enum daxfs_falloc_mode {
	DAXFS_FALLOC_KEEP_SIZE = FALLOC_FL_KEEP_SIZE,
	DAXFS_FALLOC_PUNCH_HOLE = FALLOC_FL_PUNCH_HOLE,
	DAXFS_FALLOC_ZERO_RANGE = FALLOC_FL_ZERO_RANGE,
	DAXFS_FALLOC_COLLAPSE_RANGE = FALLOC_FL_COLLAPSE_RANGE,
	DAXFS_FALLOC_INSERT_RANGE = FALLOC_FL_INSERT_RANGE,
};

/* FS_IOC_SHUTDOWN and its flags, and the label's ioctls (uapi macros, as above). */
enum daxfs_ioctl {
	DAXFS_IOC_SHUTDOWN = FS_IOC_SHUTDOWN,
	DAXFS_IOC_GETFSLABEL = FS_IOC_GETFSLABEL,
	DAXFS_IOC_SETFSLABEL = FS_IOC_SETFSLABEL,
};

enum daxfs_shutdown_flags {
	DAXFS_SHUTDOWN_DEFAULT = FS_SHUTDOWN_FLAGS_DEFAULT,
	DAXFS_SHUTDOWN_LOGFLUSH = FS_SHUTDOWN_FLAGS_LOGFLUSH,
	DAXFS_SHUTDOWN_NOLOGFLUSH = FS_SHUTDOWN_FLAGS_NOLOGFLUSH,
};

/* The attributes of a VFS inode that daxfs stores, in on-disk units. */
struct daxfs_inode_attrs {
	u16 mode;
	u32 uid;
	u32 gid;
	s64 atime_sec, mtime_sec, ctime_sec;
	u32 atime_nsec, mtime_nsec, ctime_nsec;
};

struct file_kattr;
bool daxfs_fileattr_has_fsx(const struct file_kattr *fa);
u32 daxfs_fileattr_flags(const struct file_kattr *fa);
struct fiemap_extent_info;
bool daxfs_fiemap_take_xattr(struct fiemap_extent_info *fi);
void daxfs_fc_error(struct fs_context *fc, const char *msg);
int daxfs_parse_param(struct fs_context *fc, struct fs_parameter *param,
		      unsigned int *value);
struct kmem_cache *daxfs_inode_cache_create(const char *name, unsigned int size,
					    unsigned int inode_offset);
void daxfs_inode_set_ids(struct inode *inode, u32 uid, u32 gid);
void daxfs_inode_set_times(struct inode *inode, s64 atime_sec, u32 atime_nsec,
			   s64 mtime_sec, u32 mtime_nsec, s64 ctime_sec,
			   u32 ctime_nsec);
u64 daxfs_bdev_nr_bytes(struct block_device *bdev);
bool daxfs_dir_emit(struct dir_context *ctx, const char *name, int len, u64 ino,
		    unsigned int type);
void daxfs_seq_puts(struct seq_file *seq, const char *s);
bool daxfs_inode_is_new(struct inode *inode);
bool daxfs_sb_rdonly(const struct super_block *sb);
bool daxfs_fc_wants_rdonly(const struct fs_context *fc);
void daxfs_inode_get_attrs(struct inode *inode, struct daxfs_inode_attrs *attrs);
void daxfs_current_fsids(u32 *uid, u32 *gid);
void daxfs_memcpy_flushcache(void *dst, const void *src, size_t len);
void daxfs_store_u64_flushcache(u64 *dst, u64 val);
void daxfs_pmem_wmb(void);
unsigned int daxfs_nofs_save(void);
void daxfs_nofs_restore(unsigned int flags);
void daxfs_i_size_write(struct inode *inode, loff_t size);
loff_t daxfs_i_size_read(const struct inode *inode);
void daxfs_inode_lock(struct inode *inode);
void daxfs_inode_unlock(struct inode *inode);
void daxfs_inode_lock_shared(struct inode *inode);
bool daxfs_inode_trylock(struct inode *inode);
bool daxfs_inode_trylock_shared(struct inode *inode);
ssize_t daxfs_generic_write_sync(struct kiocb *iocb, ssize_t count);
void daxfs_inode_unlock_shared(struct inode *inode);
void daxfs_set_dax(struct inode *inode);
void daxfs_set_posix_acls(struct super_block *sb, bool on);
void daxfs_cache_no_acl(struct inode *inode);
void daxfs_posix_acl_release(struct posix_acl *acl);
bool daxfs_is_dax(const struct inode *inode);

/* Faults and mmap. */
void daxfs_sb_start_pagefault(struct super_block *sb);
void daxfs_sb_end_pagefault(struct super_block *sb);
void daxfs_sb_start_intwrite(struct super_block *sb);
void daxfs_sb_end_intwrite(struct super_block *sb);
void daxfs_invalidate_lock(struct inode *inode);
void daxfs_invalidate_unlock(struct inode *inode);
void daxfs_invalidate_lock_shared(struct inode *inode);
void daxfs_invalidate_unlock_shared(struct inode *inode);
bool daxfs_fault_is_shared_write(const struct vm_fault *vmf);
bool daxfs_mapping_supported(const struct vm_area_desc *desc,
			     const struct inode *inode,
			     struct dax_device *dax_dev);
void daxfs_desc_set_hugepage(struct vm_area_desc *desc);
void daxfs_file_accessed(struct file *file);
unsigned long daxfs_page_to_pfn(const struct page *page);
bool daxfs_dax_folio_range(struct page *page, struct address_space *mapping,
			   pgoff_t *index, unsigned long *nr_pages);
bool daxfs_dax_page_idle(struct page *page);
struct dev_pagemap *daxfs_pgmap_get(struct page *page);
void daxfs_pgmap_put(struct dev_pagemap *pgmap);
struct workqueue_struct *daxfs_alloc_workqueue(const char *name);

/* Whether a report of corrupted metadata may be logged now (rate limited). */
bool daxfs_corruption_report_allowed(void);

#endif /* DAXFS_GLUE_H */
