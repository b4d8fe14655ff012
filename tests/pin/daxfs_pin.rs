// SPDX-License-Identifier: GPL-2.0

//! daxfs_pin: a test-only module that pins user pages the way a device does for DMA, and holds
//! the pins until told to let go.
//!
//! `/dev/daxfs-pin` takes three ioctls on an open file:
//! - [`PIN`]: pins the page at the user address in the argument with `pin_user_pages_fast`
//!   (`FOLL_WRITE`, not `FOLL_LONGTERM`, which fsdax refuses), as an O_DIRECT read in flight does;
//! - [`WRITE`]: fills every pinned page with the byte in the argument, as a device's DMA would,
//!   through the kernel's mapping of the page and never through the process's page tables;
//! - [`RELEASE`]: unpins every page.
//!
//! Closing the file releases what it still pins. The daxfs selftests use it to prove that no
//! block is freed, reused or zeroed while its page is pinned.

use kernel::{
    bindings,
    fs::File,
    ioctl::_IO,
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    new_mutex,
    prelude::*,
    sync::Mutex, //
};

/// Pins the page at the user address in the argument.
const PIN: u32 = _IO('P' as u32, 1);
/// Fills every pinned page with the byte in the argument.
const WRITE: u32 = _IO('P' as u32, 2);
/// Unpins every page.
const RELEASE: u32 = _IO('P' as u32, 3);

/// The most pages one open file may pin.
const MAX_PINS: usize = 64;

module! {
    type: PinModule,
    name: "daxfs_pin",
    authors: ["daxfs developers"],
    description: "daxfs test module: holds pins on user pages",
    license: "GPL",
}

#[pin_data]
struct PinModule {
    #[pin]
    _misc: MiscDeviceRegistration<Pinner>,
}

impl kernel::InPlaceModule for PinModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _misc <- MiscDeviceRegistration::register(MiscDeviceOptions {
                name: c"daxfs-pin",
            }),
        })
    }
}

/// Pages pinned with `pin_user_pages_fast`.
///
/// # Invariants
///
/// Every page in `pages` holds one pin taken by [`Pins::pin`], given back only by
/// [`Pins::release`].
struct Pins {
    pages: KVec<*mut bindings::page>,
}

// SAFETY: Pinned pages may be unpinned from any thread.
unsafe impl Send for Pins {}

impl Pins {
    /// Pins the user page at `addr` of the calling process, for writing.
    fn pin(&mut self, addr: usize) -> Result {
        if self.pages.len() >= MAX_PINS {
            return Err(ENOSPC);
        }
        let mut page: *mut bindings::page = core::ptr::null_mut();
        // SAFETY: Pins one page of the current process at `addr` (checked by GUP), writing the
        // page pointer to `page`.
        let pinned =
            unsafe { bindings::pin_user_pages_fast(addr, 1, bindings::FOLL_WRITE, &mut page) };
        if pinned < 0 {
            return Err(Error::from_errno(pinned));
        }
        if pinned != 1 {
            return Err(EFAULT);
        }
        // INVARIANT: `page` holds the pin just taken.
        if let Err(e) = self.pages.push(page, GFP_KERNEL) {
            // SAFETY: The pin was taken above and is not recorded anywhere.
            unsafe { bindings::unpin_user_page(page) };
            return Err(e.into());
        }
        Ok(())
    }

    /// Fills every pinned page with `byte`.
    fn write(&self, byte: u8) {
        for &page in self.pages.iter() {
            // SAFETY: By the type invariant the page is pinned, so it stays allocated (for a
            // DAX page: its block is not freed) while it is mapped here and written.
            unsafe {
                let addr = bindings::kmap_local_page(page);
                core::ptr::write_bytes(addr.cast::<u8>(), byte, kernel::page::PAGE_SIZE);
                bindings::kunmap_local(addr);
            }
        }
    }

    /// Unpins every page.
    fn release(&mut self) {
        for page in self.pages.drain_all() {
            // SAFETY: By the type invariant the page holds a pin of ours, given back once here.
            unsafe { bindings::unpin_user_page(page) };
        }
    }
}

/// One open `/dev/daxfs-pin`.
#[pin_data(PinnedDrop)]
struct Pinner {
    #[pin]
    pins: Mutex<Pins>,
}

#[vtable]
impl MiscDevice for Pinner {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        KBox::try_pin_init(
            try_pin_init!(Pinner {
                pins <- new_mutex!(Pins { pages: KVec::new() }),
            }),
            GFP_KERNEL,
        )
    }

    fn ioctl(me: Pin<&Pinner>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let mut pins = me.pins.lock();
        match cmd {
            PIN => pins.pin(arg)?,
            WRITE => pins.write(arg as u8),
            RELEASE => pins.release(),
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}

#[pinned_drop]
impl PinnedDrop for Pinner {
    fn drop(self: Pin<&mut Self>) {
        self.pins.lock().release();
    }
}
