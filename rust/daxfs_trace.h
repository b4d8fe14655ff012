/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daxfs trace events: /sys/kernel/tracing/events/daxfs/, perf -e 'daxfs:*'.
 *
 * Rust fires them through the rust_do_trace_*() functions that define_trace.h
 * generates (CREATE_RUST_TRACE_POINTS in daxfs_trace.c), behind the
 * tracepoint's static key tested in Rust (src/vfs/trace.rs): a disabled event
 * costs one patched-out jump.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM daxfs

#if !defined(_DAXFS_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _DAXFS_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(daxfs_fault,
	TP_PROTO(u64 ino, u64 pgoff, unsigned int order, bool write, unsigned int result),
	TP_ARGS(ino, pgoff, order, write, result),
	TP_STRUCT__entry(
		__field(u64, ino)
		__field(u64, pgoff)
		__field(unsigned int, order)
		__field(bool, write)
		__field(unsigned int, result)
	),
	TP_fast_assign(
		__entry->ino = ino;
		__entry->pgoff = pgoff;
		__entry->order = order;
		__entry->write = write;
		__entry->result = result;
	),
	TP_printk("ino %llu pgoff %#llx order %u %s result %s",
		__entry->ino, __entry->pgoff, __entry->order,
		__entry->write ? "write" : "read",
		__print_flags(__entry->result, "|", VM_FAULT_RESULT_TRACE))
);

DECLARE_EVENT_CLASS(daxfs_blocks_class,
	TP_PROTO(u64 ino, u64 start, u64 len),
	TP_ARGS(ino, start, len),
	TP_STRUCT__entry(
		__field(u64, ino)
		__field(u64, start)
		__field(u64, len)
	),
	TP_fast_assign(
		__entry->ino = ino;
		__entry->start = start;
		__entry->len = len;
	),
	TP_printk("ino %llu blocks %llu..%llu (%llu)", __entry->ino,
		__entry->start, __entry->start + __entry->len - 1, __entry->len)
);
DEFINE_EVENT(daxfs_blocks_class, daxfs_alloc_blocks,
	TP_PROTO(u64 ino, u64 start, u64 len), TP_ARGS(ino, start, len));
DEFINE_EVENT(daxfs_blocks_class, daxfs_free_blocks,
	TP_PROTO(u64 ino, u64 start, u64 len), TP_ARGS(ino, start, len));

TRACE_EVENT(daxfs_convert_unwritten,
	TP_PROTO(u64 ino, u64 file_block, u64 start, u64 len),
	TP_ARGS(ino, file_block, start, len),
	TP_STRUCT__entry(
		__field(u64, ino)
		__field(u64, file_block)
		__field(u64, start)
		__field(u64, len)
	),
	TP_fast_assign(
		__entry->ino = ino;
		__entry->file_block = file_block;
		__entry->start = start;
		__entry->len = len;
	),
	TP_printk("ino %llu file block %llu blocks %llu..%llu (%llu)", __entry->ino,
		__entry->file_block, __entry->start, __entry->start + __entry->len - 1,
		__entry->len)
);

TRACE_EVENT(daxfs_layout_wait_start,
	TP_PROTO(u64 ino, s64 start, s64 end, unsigned long pfn),
	TP_ARGS(ino, start, end, pfn),
	TP_STRUCT__entry(
		__field(u64, ino)
		__field(s64, start)
		__field(s64, end)
		__field(unsigned long, pfn)
	),
	TP_fast_assign(
		__entry->ino = ino;
		__entry->start = start;
		__entry->end = end;
		__entry->pfn = pfn;
	),
	TP_printk("ino %llu range %#llx..%#llx busy pfn %#lx", __entry->ino,
		__entry->start, __entry->end, __entry->pfn)
);

TRACE_EVENT(daxfs_layout_wait_end,
	TP_PROTO(u64 ino, s64 start, s64 end, u64 waited_ns, int error),
	TP_ARGS(ino, start, end, waited_ns, error),
	TP_STRUCT__entry(
		__field(u64, ino)
		__field(s64, start)
		__field(s64, end)
		__field(u64, waited_ns)
		__field(int, error)
	),
	TP_fast_assign(
		__entry->ino = ino;
		__entry->start = start;
		__entry->end = end;
		__entry->waited_ns = waited_ns;
		__entry->error = error;
	),
	TP_printk("ino %llu range %#llx..%#llx waited %llu us error %d",
		__entry->ino, __entry->start, __entry->end,
		__entry->waited_ns / 1000, __entry->error)
);

TRACE_EVENT(daxfs_truncate,
	TP_PROTO(u64 ino, u64 old_size, u64 new_size, u64 freed_blocks),
	TP_ARGS(ino, old_size, new_size, freed_blocks),
	TP_STRUCT__entry(
		__field(u64, ino)
		__field(u64, old_size)
		__field(u64, new_size)
		__field(u64, freed_blocks)
	),
	TP_fast_assign(
		__entry->ino = ino;
		__entry->old_size = old_size;
		__entry->new_size = new_size;
		__entry->freed_blocks = freed_blocks;
	),
	TP_printk("ino %llu size %llu -> %llu freed %llu blocks", __entry->ino,
		__entry->old_size, __entry->new_size, __entry->freed_blocks)
);

TRACE_EVENT(daxfs_punch_hole,
	TP_PROTO(u64 ino, u64 offset, u64 len, u64 freed_blocks, bool zero_range),
	TP_ARGS(ino, offset, len, freed_blocks, zero_range),
	TP_STRUCT__entry(
		__field(u64, ino)
		__field(u64, offset)
		__field(u64, len)
		__field(u64, freed_blocks)
		__field(bool, zero_range)
	),
	TP_fast_assign(
		__entry->ino = ino;
		__entry->offset = offset;
		__entry->len = len;
		__entry->freed_blocks = freed_blocks;
		__entry->zero_range = zero_range;
	),
	TP_printk("ino %llu %s offset %llu len %llu freed %llu blocks", __entry->ino,
		__entry->zero_range ? "zero-range" : "punch-hole", __entry->offset,
		__entry->len, __entry->freed_blocks)
);

TRACE_EVENT(daxfs_evict,
	TP_PROTO(u64 ino, unsigned int nlink, u64 blocks),
	TP_ARGS(ino, nlink, blocks),
	TP_STRUCT__entry(
		__field(u64, ino)
		__field(unsigned int, nlink)
		__field(u64, blocks)
	),
	TP_fast_assign(
		__entry->ino = ino;
		__entry->nlink = nlink;
		__entry->blocks = blocks;
	),
	TP_printk("ino %llu nlink %u blocks %llu", __entry->ino, __entry->nlink,
		__entry->blocks)
);

TRACE_EVENT(daxfs_park,
	TP_PROTO(u64 ino, u64 start, u64 len, u64 blocks, unsigned long pfn),
	TP_ARGS(ino, start, len, blocks, pfn),
	TP_STRUCT__entry(
		__field(u64, ino)
		__field(u64, start)
		__field(u64, len)
		__field(u64, blocks)
		__field(unsigned long, pfn)
	),
	TP_fast_assign(
		__entry->ino = ino;
		__entry->start = start;
		__entry->len = len;
		__entry->blocks = blocks;
		__entry->pfn = pfn;
	),
	TP_printk("ino %llu range %#llx+%#llx parked %llu blocks busy pfn %#lx",
		__entry->ino, __entry->start, __entry->len, __entry->blocks,
		__entry->pfn)
);

TRACE_EVENT(daxfs_unpark,
	TP_PROTO(u64 ino, u64 start, u64 blocks, u64 parked_ns),
	TP_ARGS(ino, start, blocks, parked_ns),
	TP_STRUCT__entry(
		__field(u64, ino)
		__field(u64, start)
		__field(u64, blocks)
		__field(u64, parked_ns)
	),
	TP_fast_assign(
		__entry->ino = ino;
		__entry->start = start;
		__entry->blocks = blocks;
		__entry->parked_ns = parked_ns;
	),
	TP_printk("ino %llu range %#llx freed %llu blocks parked %llu us",
		__entry->ino, __entry->start, __entry->blocks,
		__entry->parked_ns / 1000)
);

/*
 * What CREATE_RUST_TRACE_POINTS defines in daxfs_trace.c, for Rust (through
 * bindgen) and for the prototype check.
 */
void rust_do_trace_daxfs_fault(u64 ino, u64 pgoff, unsigned int order, bool write,
			       unsigned int result);
void rust_do_trace_daxfs_alloc_blocks(u64 ino, u64 start, u64 len);
void rust_do_trace_daxfs_free_blocks(u64 ino, u64 start, u64 len);
void rust_do_trace_daxfs_convert_unwritten(u64 ino, u64 file_block, u64 start, u64 len);
void rust_do_trace_daxfs_layout_wait_start(u64 ino, s64 start, s64 end, unsigned long pfn);
void rust_do_trace_daxfs_layout_wait_end(u64 ino, s64 start, s64 end, u64 waited_ns, int error);
void rust_do_trace_daxfs_truncate(u64 ino, u64 old_size, u64 new_size, u64 freed_blocks);
void rust_do_trace_daxfs_punch_hole(u64 ino, u64 offset, u64 len, u64 freed_blocks,
				    bool zero_range);
void rust_do_trace_daxfs_evict(u64 ino, unsigned int nlink, u64 blocks);
void rust_do_trace_daxfs_park(u64 ino, u64 start, u64 len, u64 blocks, unsigned long pfn);
void rust_do_trace_daxfs_unpark(u64 ino, u64 start, u64 blocks, u64 parked_ns);

#endif /* _DAXFS_TRACE_H */

/* The header is not in include/trace/events: tell define_trace.h where it is. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE daxfs_trace
#include <trace/define_trace.h>
