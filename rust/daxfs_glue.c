// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of the daxfs module: only what Rust cannot express, such as
 * wrappers of static inline functions and macros, and the fs_parameter_spec
 * table that is built from macros.
 */
#include <linux/blkdev.h>
#include <linux/cred.h>
#include <asm/barrier.h>
#include <linux/dax.h>
#include <linux/fiemap.h>
#include <linux/fileattr.h>
#include <linux/fs_parser.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/posix_acl.h>
#include <linux/ratelimit.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "daxfs_glue.h"

/*
 * Mount errors always go to the kernel log, and also to the log of an
 * fsopen() caller when there is one (errorfc() alone would print to only one).
 */
void daxfs_fc_error(struct fs_context *fc, const char *msg)
{
	pr_err("daxfs: %s\n", msg);
	if (fc->log.log)
		errorfc(fc, "%s", msg);
}

static const struct constant_table daxfs_dax_modes[] = {
	{ "always", DAXFS_DAX_ALWAYS },
	{ "never", DAXFS_DAX_NEVER },
	{ "inode", DAXFS_DAX_INODE },
	{}
};

static const struct fs_parameter_spec daxfs_param_spec[] = {
	fsparam_flag("dax", DAXFS_PARAM_DAX),
	fsparam_enum("dax", DAXFS_PARAM_DAX_MODE, daxfs_dax_modes),
	fsparam_flag("norecovery", DAXFS_PARAM_NORECOVERY),
	{}
};

/* Whether the block device under @sb is read-only (blockdev --setro). */
bool daxfs_sb_bdev_read_only(struct super_block *sb)
{
	return bdev_read_only(sb->s_bdev);
}

/* Returns the enum daxfs_param of @param and its value, or a negative errno. */
int daxfs_parse_param(struct fs_context *fc, struct fs_parameter *param,
		      unsigned int *value)
{
	struct fs_parse_result result;
	int opt = fs_parse(fc, daxfs_param_spec, param, &result);

	if (opt >= 0)
		*value = result.uint_32;
	return opt;
}

/* The VFS inode sits at this offset in each object of the inode cache. */
static unsigned int daxfs_inode_offset;

static void daxfs_inode_init_once(void *object)
{
	inode_init_once(object + daxfs_inode_offset);
}

struct kmem_cache *daxfs_inode_cache_create(const char *name, unsigned int size,
					    unsigned int inode_offset)
{
	daxfs_inode_offset = inode_offset;
	return kmem_cache_create(name, size, 0,
				 SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
				 daxfs_inode_init_once);
}

void daxfs_inode_set_ids(struct inode *inode, u32 uid, u32 gid)
{
	i_uid_write(inode, uid);
	i_gid_write(inode, gid);
}

void daxfs_inode_set_times(struct inode *inode, s64 atime_sec, u32 atime_nsec,
			   s64 mtime_sec, u32 mtime_nsec, s64 ctime_sec,
			   u32 ctime_nsec)
{
	inode_set_atime(inode, atime_sec, atime_nsec);
	inode_set_mtime(inode, mtime_sec, mtime_nsec);
	inode_set_ctime(inode, ctime_sec, ctime_nsec);
}

u64 daxfs_bdev_nr_bytes(struct block_device *bdev)
{
	return bdev_nr_bytes(bdev);
}

bool daxfs_dir_emit(struct dir_context *ctx, const char *name, int len, u64 ino,
		    unsigned int type)
{
	return dir_emit(ctx, name, len, ino, type);
}

void daxfs_seq_puts(struct seq_file *seq, const char *s)
{
	seq_puts(seq, s);
}

bool daxfs_inode_is_new(struct inode *inode)
{
	return inode_state_read_once(inode) & I_NEW;
}

bool daxfs_sb_rdonly(const struct super_block *sb)
{
	return sb_rdonly(sb);
}

void daxfs_inode_get_attrs(struct inode *inode, struct daxfs_inode_attrs *attrs)
{
	struct timespec64 t;

	attrs->mode = inode->i_mode;
	attrs->uid = i_uid_read(inode);
	attrs->gid = i_gid_read(inode);
	t = inode_get_atime(inode);
	attrs->atime_sec = t.tv_sec;
	attrs->atime_nsec = t.tv_nsec;
	t = inode_get_mtime(inode);
	attrs->mtime_sec = t.tv_sec;
	attrs->mtime_nsec = t.tv_nsec;
	t = inode_get_ctime(inode);
	attrs->ctime_sec = t.tv_sec;
	attrs->ctime_nsec = t.tv_nsec;
}

void daxfs_current_fsids(u32 *uid, u32 *gid)
{
	*uid = from_kuid(&init_user_ns, current_fsuid());
	*gid = from_kgid(&init_user_ns, current_fsgid());
}

/* Non-temporal copy to persistent memory; durable after daxfs_pmem_wmb(). */
void daxfs_memcpy_flushcache(void *dst, const void *src, size_t len)
{
	memcpy_flushcache(dst, src, len);
}

/*
 * One non-temporal 8-byte store (memcpy_flushcache with a constant 8 is a single movnti):
 * persistent memory never tears an aligned 8-byte store, so it updates a field in place
 * without a torn value after a crash. Durable after daxfs_pmem_wmb().
 */
void daxfs_store_u64_flushcache(u64 *dst, u64 val)
{
	memcpy_flushcache(dst, &val, sizeof(val));
}

void daxfs_pmem_wmb(void)
{
	pmem_wmb();
}

/* A scope in which allocations do not recurse into file system reclaim (a transaction's). */
unsigned int daxfs_nofs_save(void)
{
	return memalloc_nofs_save();
}

void daxfs_nofs_restore(unsigned int flags)
{
	memalloc_nofs_restore(flags);
}

bool daxfs_fc_wants_rdonly(const struct fs_context *fc)
{
	return fc->sb_flags & SB_RDONLY;
}

loff_t daxfs_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}

/* i_size_write: a release store, so lockless readers of i_size see the data first. */
void daxfs_i_size_write(struct inode *inode, loff_t size)
{
	i_size_write(inode, size);
}

void daxfs_inode_lock(struct inode *inode)
{
	inode_lock(inode);
}

void daxfs_inode_unlock(struct inode *inode)
{
	inode_unlock(inode);
}

void daxfs_inode_lock_shared(struct inode *inode)
{
	inode_lock_shared(inode);
}

void daxfs_inode_unlock_shared(struct inode *inode)
{
	inode_unlock_shared(inode);
}

bool daxfs_inode_trylock(struct inode *inode)
{
	return inode_trylock(inode);
}

bool daxfs_inode_trylock_shared(struct inode *inode)
{
	return inode_trylock_shared(inode);
}

ssize_t daxfs_generic_write_sync(struct kiocb *iocb, ssize_t count)
{
	return generic_write_sync(iocb, count);
}

/* Whether a fileattr_set request has fields beyond the FS_*_FL flags. */
bool daxfs_fileattr_has_fsx(const struct file_kattr *fa)
{
	return fileattr_has_fsx(fa);
}

/*
 * Whether a FIEMAP asks for the extended attributes (FIEMAP_FLAG_XATTR), clearing the flag,
 * which fiemap_prep() would refuse (kernel::bindings has the type opaque).
 */
bool daxfs_fiemap_take_xattr(struct fiemap_extent_info *fi)
{
	bool xattr = fi->fi_flags & FIEMAP_FLAG_XATTR;

	fi->fi_flags &= ~FIEMAP_FLAG_XATTR;
	return xattr;
}

/* The FS_*_FL flags of a fileattr_set request (kernel::bindings has the type opaque). */
u32 daxfs_fileattr_flags(const struct file_kattr *fa)
{
	return fa->flags;
}

/* S_DAX is decided here, when the inode is instantiated, and never changed. */
void daxfs_set_dax(struct inode *inode)
{
	inode->i_flags |= S_DAX;
}

/*
 * POSIX ACLs: the VFS stops applying the umask itself and leaves it to
 * posix_acl_create(), which daxfs calls for every new node. Set or cleared
 * as the image says, whatever mount(2) passed (MS_POSIXACL reaches s_flags).
 */
#ifndef CONFIG_FS_POSIX_ACL
#error "daxfs stores POSIX ACLs: it needs CONFIG_FS_POSIX_ACL (selected by EXT4_FS_POSIX_ACL)"
#endif
void daxfs_set_posix_acls(struct super_block *sb, bool on)
{
	sb->s_flags = (sb->s_flags & ~SB_POSIXACL) | (on ? SB_POSIXACL : 0);
}

void daxfs_cache_no_acl(struct inode *inode)
{
	cache_no_acl(inode);
}

void daxfs_posix_acl_release(struct posix_acl *acl)
{
	posix_acl_release(acl);
}

bool daxfs_is_dax(const struct inode *inode)
{
	return IS_DAX(inode);
}

void daxfs_sb_start_pagefault(struct super_block *sb)
{
	sb_start_pagefault(sb);
}

void daxfs_sb_end_pagefault(struct super_block *sb)
{
	sb_end_pagefault(sb);
}

void daxfs_sb_start_intwrite(struct super_block *sb)
{
	sb_start_intwrite(sb);
}

void daxfs_sb_end_intwrite(struct super_block *sb)
{
	sb_end_intwrite(sb);
}

void daxfs_invalidate_lock(struct inode *inode)
{
	filemap_invalidate_lock(inode->i_mapping);
}

void daxfs_invalidate_unlock(struct inode *inode)
{
	filemap_invalidate_unlock(inode->i_mapping);
}

void daxfs_invalidate_lock_shared(struct inode *inode)
{
	filemap_invalidate_lock_shared(inode->i_mapping);
}

void daxfs_invalidate_unlock_shared(struct inode *inode)
{
	filemap_invalidate_unlock_shared(inode->i_mapping);
}

/*
 * A write fault that changes the file: FAULT_FLAG_WRITE on a shared mapping
 * (a write to a private mapping makes an anonymous copy instead; cow_page is
 * not set for huge faults, so VM_SHARED is the test, as in ext4 and XFS).
 */
bool daxfs_fault_is_shared_write(const struct vm_fault *vmf)
{
	return (vmf->flags & FAULT_FLAG_WRITE) && (vmf->vma->vm_flags & VM_SHARED);
}

bool daxfs_mapping_supported(const struct vm_area_desc *desc,
			     const struct inode *inode,
			     struct dax_device *dax_dev)
{
	return daxdev_mapping_supported(desc, inode, dax_dev);
}

void daxfs_desc_set_hugepage(struct vm_area_desc *desc)
{
	vma_desc_set_flags(desc, VMA_HUGEPAGE_BIT);
}

void daxfs_file_accessed(struct file *file)
{
	file_accessed(file);
}

unsigned long daxfs_page_to_pfn(const struct page *page)
{
	return page_to_pfn(page);
}

/*
 * The file range of the DAX folio of @page while it belongs to @mapping: its
 * first page index and page count. False once the folio is no longer
 * associated with @mapping (its entry was deleted), or for a shared folio,
 * which daxfs never makes.
 */
bool daxfs_dax_folio_range(struct page *page, struct address_space *mapping,
			   pgoff_t *index, unsigned long *nr_pages)
{
	struct folio *folio = page_folio(page);

	if (READ_ONCE(folio->mapping) != mapping)
		return false;
	*index = folio->index;
	*nr_pages = folio_nr_pages(folio);
	return true;
}

/*
 * A reference to the dev_pagemap of the DAX page @page, which keeps its page
 * structures from going away (memunmap_pages waits for it); NULL if the
 * device is being removed.
 */
struct dev_pagemap *daxfs_pgmap_get(struct page *page)
{
	return get_dev_pagemap(page_to_pfn(page));
}

void daxfs_pgmap_put(struct dev_pagemap *pgmap)
{
	put_dev_pagemap(pgmap);
}

/* An unbound work queue named "daxfs-@name" (alloc_workqueue is a macro). */
struct workqueue_struct *daxfs_alloc_workqueue(const char *name)
{
	return alloc_workqueue("daxfs-%s", WQ_UNBOUND, 0, name);
}

/* Whether the DAX page @page has no reference left (dax_page_is_idle). */
bool daxfs_dax_page_idle(struct page *page)
{
	return page_ref_count(page) == 0;
}

/*
 * Reports of corrupted metadata share one rate limit (the printk default: 10
 * lines per 5 s), so that an image that is damaged everywhere cannot flood the
 * log.
 */
bool daxfs_corruption_report_allowed(void)
{
	static DEFINE_RATELIMIT_STATE(rs, DEFAULT_RATELIMIT_INTERVAL,
				      DEFAULT_RATELIMIT_BURST);

	return __ratelimit(&rs);
}
