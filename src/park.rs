// SPDX-License-Identifier: GPL-2.0

//! Parked blocks: a shrinking truncate that does not wait for pins (option 3 of the 2017
//! fsdax design, in the form Christoph Hellwig proposed: the allocator does not reuse the blocks,
//! as XFS keeps busy extents).
//!
//! A truncate unmaps the range it cuts off and deletes the mapping entries of its idle pages;
//! the pages a device still has pinned (an O_DIRECT read in flight into a mapping,
//! `pin_user_pages`) keep their entries, beyond the new end of file where nothing can map them
//! again ([`vfs::PinnedPage`]). Their blocks are freed in the truncate's transaction like the
//! others, but *parked*: the allocator hands them to no one and counts them as used
//! ([`crate::alloc`]), so whatever the device still writes there reaches no file. A work item
//! per pinned folio ([`Parked`]) polls the page; once it is idle it deletes the entry and gives
//! the blocks back.
//!
//! Nothing about parking is on the device: the blocks are free there from the truncate's
//! commit on, and no pin survives a reboot, so a crash loses nothing and fsck has nothing to
//! check.
//!
//! The parked entries must stay beyond the end of file: a fault at an index that still has one
//! would map a new block while the entry refers to the old page. So whatever grows the file, or
//! allocates past its end, first waits for them ([`wait_for_parked`]): truncate up, an extending
//! write, fallocate past the end, insert range. Punch hole and zero range inside the file wait
//! for pins as before, and so does a truncate whose new last block is pinned (its tail is zeroed
//! and stays in the file). Each parked folio holds a reference to its inode, so the inode is
//! evicted (and an unlinked file's blocks freed) only after its pins are gone; unmount waits for
//! them.

use kernel::{
    new_condvar, new_mutex,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        CondVar,
        Mutex, //
    },
    time::{
        msecs_to_jiffies,
        Instant,
        Monotonic, //
    },
    workqueue::{
        impl_has_delayed_work,
        new_delayed_work,
        DelayedWork,
        WorkItem, //
    },
};

use crate::{
    format,
    inode::{
        Inode,
        InvalidateLock, //
    },
    journal::Tx,
    vfs::{
        self,
        trace,
        ARef, //
    },
    Daxfs,
};

/// How soon a truncate's pinned pages are first looked at again, and how long the wait between
/// two looks grows to: the kernel signals an idle page only with `wake_up_var`, which a work item
/// cannot wait on without tying up a worker. The first looks are soon, for short DMA; a long pin
/// costs ten atomic reads a second.
const POLL_FIRST_MS: u32 = 10;
const POLL_MAX_MS: u32 = 100;

/// The folios a mount has parked, for unmount to wait on.
#[pin_data]
pub(crate) struct ParkedCount {
    #[pin]
    count: Mutex<u64>,
    #[pin]
    none_left: CondVar,
}

impl ParkedCount {
    /// A count of zero.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                count <- new_mutex!(0),
                none_left <- new_condvar!(),
            }),
            GFP_KERNEL,
        )
    }

    fn add(&self) {
        *self.count.lock() += 1;
    }

    fn done(&self) {
        let mut count = self.count.lock();
        *count -= 1;
        if *count == 0 {
            self.none_left.notify_all();
        }
    }

    /// Waits until no folio of the mount is parked (at unmount). A signal cannot cancel an
    /// unmount that has begun (the VFS has detached the mount): it ends the interruptible wait,
    /// with a line in dmesg, and the rest is waited for uninterruptibly, as ext4 and XFS wait
    /// for pins at eviction.
    pub(crate) fn wait_for_none(&self) {
        let mut count = self.count.lock();
        if *count == 0 {
            return;
        }
        pr_info!(
            "unmount waits for {} pinned pages to be released, whose blocks a truncate \
             parked\n",
            *count
        );
        while *count > 0 {
            if self.none_left.wait_interruptible(&mut count) {
                pr_warn!(
                    "unmount interrupted, but it cannot be cancelled once begun: waiting for \
                     the last {} pinned pages uninterruptibly\n",
                    *count
                );
                while *count > 0 {
                    self.none_left.wait(&mut count);
                }
            }
        }
        pr_info!("the parked blocks are free; unmounting\n");
    }
}

/// The per-inode count of parked folios, for growth to wait on.
pub(crate) struct InodeParked(Atomic<u32>);

impl InodeParked {
    /// None parked.
    pub(crate) fn new() -> Self {
        Self(Atomic::new(0))
    }
}

/// A pinned folio past the end of its file, and the runs of device blocks parked under it, as
/// (start, length), with room for one per page reserved (no allocation once the truncate's
/// transaction has begun).
struct ParkedFolio {
    page: vfs::PinnedPage<Daxfs>,
    runs: KVec<(u64, u64)>,
    /// Unparked already.
    done: bool,
}

impl ParkedFolio {
    /// The file blocks the folio mapped (a block is a page).
    fn file_range(&self) -> core::ops::Range<u64> {
        let first = self.page.start() / format::BLOCK_SIZE_U64;
        first..first + self.page.len() / format::BLOCK_SIZE_U64
    }
}

/// What a [`Parked`] item changes as it polls.
struct ParkedState {
    folios: KVec<ParkedFolio>,
    /// The wait before the next look.
    delay_ms: u32,
}

/// The pinned folios one truncate left past the end of its file: a work item that polls their
/// pages and gives each folio's blocks back once its page is idle. It holds a reference to the
/// inode until the last one is.
#[pin_data]
pub(crate) struct Parked {
    inode: ARef<Inode>,
    #[pin]
    state: Mutex<ParkedState>,
    /// When the truncate parked the blocks.
    since: Instant<Monotonic>,
    count: Arc<ParkedCount>,
    #[pin]
    work: DelayedWork<Parked>,
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for Parked { self.work }
}

impl WorkItem for Parked {
    type Pointer = Arc<Parked>;

    fn run(this: Arc<Parked>) {
        let inode = &*this.inode;
        let sbi = inode.super_block().data();
        // Out of the lock while the folios are looked at: the truncate that parked them took it
        // under the invalidate lock, which forgetting a folio takes.
        let mut folios = core::mem::take(&mut this.state.lock().folios);
        let mut left = 0;
        for folio in folios.iter_mut().filter(|f| !f.done) {
            // An idle page past the end of file cannot be referenced again: the look without
            // the invalidate lock keeps a long pin from stalling faults on the file.
            if !folio.page.is_idle() || !folio.page.forget() {
                left += 1;
                continue;
            }
            for &(start, len) in folio.runs.iter() {
                sbi.alloc.unpark(start, len);
            }
            let blocks = folio.runs.iter().map(|&(_, len)| len).sum();
            let parked_ns = this.since.elapsed().as_nanos();
            // CAST: an elapsed time is not negative.
            trace::unpark(inode.ino(), folio.page.start(), blocks, parked_ns as u64);
            folio.done = true;
        }
        let mut state = this.state.lock();
        state.folios = folios;
        if left > 0 {
            let delay = state.delay_ms;
            state.delay_ms = (delay * 2).min(POLL_MAX_MS);
            drop(state);
            requeue(this, delay);
            return;
        }
        drop(state);
        retire(this);
    }
}

/// Queues `item` to be run again in `delay_ms`.
fn requeue(item: Arc<Parked>, delay_ms: u32) {
    let inode = item.inode.clone();
    let queue = &inode.super_block().data().parking.queue;
    // Only an item already pending is refused, and a running item is not pending; the queue
    // lives until unmount, which waits for every item first.
    let queued = queue.enqueue_delayed(item, msecs_to_jiffies(delay_ms));
    drop(inode);
    if let Err(item) = queued {
        pr_warn!("could not queue the poll of parked blocks; they stay parked until unmount\n");
        retire(item);
    }
}

/// Ends `item`: it no longer counts as parked for its inode and its mount.
fn retire(item: Arc<Parked>) {
    item.inode.data().parked.0.fetch_sub(1, Relaxed);
    // The inode references go before the count does: unmount must find the inode unused.
    let count = item.count.clone();
    drop(item);
    count.done();
}

/// The work item for the pinned folios `pinned` that a truncate of `inode` found, made before
/// its transaction begins: no allocation is left for once it has freed blocks. None without
/// pinned folios.
pub(crate) fn prepare(
    inode: &Inode,
    pinned: KVec<vfs::PinnedPage<Daxfs>>,
) -> Result<Option<Arc<Parked>>> {
    if pinned.is_empty() {
        return Ok(None);
    }
    let mut folios = KVec::with_capacity(pinned.len(), GFP_KERNEL)?;
    for page in pinned {
        // CAST: a folio has at most 512 pages.
        let runs = KVec::with_capacity((page.len() / format::BLOCK_SIZE_U64) as usize, GFP_KERNEL)?;
        folios.push(
            ParkedFolio {
                page,
                runs,
                done: false,
            },
            GFP_KERNEL,
        )?;
    }
    let item = Arc::pin_init(
        pin_init!(Parked {
            inode: ARef::from(inode),
            state <- new_mutex!(ParkedState {
                folios,
                delay_ms: POLL_FIRST_MS,
            }),
            since: Instant::now(),
            count: inode.super_block().data().parking.count.clone(),
            work <- new_delayed_work!("Parked::work"),
        }),
        GFP_KERNEL,
    )?;
    Ok(Some(item))
}

/// In a truncate's transaction `tx`, before it changes anything: makes room in the allocator for
/// the runs `parked` may park, so that freeing them cannot fail for want of memory.
pub(crate) fn reserve(tx: &Tx<'_>, parked: Option<&Arc<Parked>>) -> Result {
    let Some(parked) = parked else {
        return Ok(());
    };
    let runs = parked
        .state
        .lock()
        .folios
        .iter()
        .map(|f| f.runs.capacity())
        .sum();
    tx.sbi().alloc.reserve_parked(runs)
}

/// Sorts the extents `removed` that a truncate unmapped into the device blocks under the pinned
/// folios of `parked`, which go to `park` (and the folio), and the others, which go to `free`.
pub(crate) fn split_removed(
    parked: Option<&Arc<Parked>>,
    removed: &[format::Extent],
    mut park: impl FnMut(u64, u64) -> Result,
    mut free: impl FnMut(u64, u64) -> Result,
) -> Result {
    let Some(parked) = parked else {
        return removed
            .iter()
            .try_for_each(|e| free(e.physical, u64::from(e.len)));
    };
    let mut state = parked.state.lock();
    let folios = &mut state.folios;
    for extent in removed {
        let (first, end) = (extent.logical, extent.logical + u64::from(extent.len));
        let mut block = first;
        while block < end {
            let holder = folios.iter().position(|f| f.file_range().contains(&block));
            // To the end of the folio at `block`, or to where the next one begins.
            let next = match holder {
                Some(i) => folios[i].file_range().end,
                None => folios
                    .iter()
                    .map(|f| f.file_range().start)
                    .filter(|&s| s > block)
                    .min()
                    .unwrap_or(end),
            }
            .min(end);
            let run = (extent.physical + (block - first), next - block);
            match holder {
                Some(i) => {
                    park(run.0, run.1)?;
                    // Room for one run per page was reserved: this does not allocate.
                    folios[i].runs.push(run, GFP_KERNEL)?;
                }
                None => free(run.0, run.1)?,
            }
            block = next;
        }
    }
    Ok(())
}

/// Starts polling the folios of `parked` once the truncate of `inode` that parked them has
/// ended. Folios whose range is still inside the file (the truncate failed before it changed
/// the size) need nothing: their blocks are the file's.
pub(crate) fn start(inode: &Inode, parked: Option<Arc<Parked>>) {
    let Some(parked) = parked else {
        return;
    };
    let size = inode.size();
    {
        let mut state = parked.state.lock();
        state.folios.retain(|f| f.page.start() >= size);
        if state.folios.is_empty() {
            return;
        }
        for folio in state.folios.iter() {
            let blocks = folio.runs.iter().map(|&(_, len)| len).sum();
            trace::park(
                inode.ino(),
                folio.page.start(),
                folio.page.len(),
                blocks,
                folio.page.pfn(),
            );
        }
    }
    inode.super_block().data().parking.count.add();
    inode.data().parked.0.fetch_add(1, Relaxed);
    requeue(parked, POLL_FIRST_MS);
}

/// Waits until no folio of `inode` is parked past its end, before something grows the file or
/// allocates past its end (see the module documentation), holding its invalidate lock
/// `invalidate`: breaks the layout of everything past the end, which waits for the pins and
/// deletes the entries. A signal gives `ERESTARTSYS`. Without parked folios it costs an atomic
/// read.
pub(crate) fn wait_for_parked(inode: &Inode, invalidate: &InvalidateLock<'_>) -> Result {
    if inode.data().parked.0.load(Relaxed) == 0 {
        return Ok(());
    }
    let end_of_file = inode.size().next_multiple_of(format::BLOCK_SIZE_U64);
    invalidate.break_layouts(end_of_file, u64::MAX)
}

/// What a mount parks blocks with: the work queue its parked folios are polled on, and their
/// count.
pub(crate) struct Parking {
    pub(crate) queue: vfs::OwnedQueue,
    pub(crate) count: Arc<ParkedCount>,
}

impl Parking {
    /// A new queue, and a count of zero.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            queue: vfs::OwnedQueue::new(c"park")?,
            count: ParkedCount::new()?,
        })
    }
}
