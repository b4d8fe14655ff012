// SPDX-License-Identifier: GPL-2.0

//! The userspace tools of daxfs: the shared code of `mkfs.daxfs` and `fsck.daxfs`.
//!
//! [`format`](mod@format) is the on-disk format, the very source (`src/format/`) the kernel module
//! compiles. The rest is userspace only: block device access ([`device`]), option parsing
//! ([`args`]), the two tools' logic ([`mkfs`], [`fsck`]), an image builder for tests
//! ([`builder`]), the image mutator of `daxfs-fuzz` ([`fuzz`]), undoing an interrupted
//! transaction ([`journal`]) and the crash-state explorer ([`crash`]).

#[path = "../../src/format/mod.rs"]
pub mod format;

pub mod args;
pub mod builder;
pub mod crash;
pub mod device;
pub mod fsck;
pub mod fuzz;
pub mod journal;
pub mod mkfs;

use std::fmt;
use std::io;

/// An error of the tools: an I/O failure with what was being done, or an unusable on-disk
/// structure.
#[derive(Debug)]
pub enum Error {
    /// An I/O operation failed.
    Io {
        /// What was being done, e.g. "reading block 12".
        context: String,
        /// The underlying error.
        source: io::Error,
    },
    /// An on-disk structure could not be used.
    Format(format::FormatError),
    /// Anything else, with a one-line message.
    Other(String),
}

impl Error {
    /// An I/O error while doing `context`.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { context, source } => write!(f, "{context}: {source}"),
            Self::Format(error) => write!(f, "{error}"),
            Self::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Format(_) | Self::Other(_) => None,
        }
    }
}

impl From<format::FormatError> for Error {
    fn from(error: format::FormatError) -> Self {
        Self::Format(error)
    }
}

/// The result type of the tools.
pub type Result<T, E = Error> = std::result::Result<T, E>;
