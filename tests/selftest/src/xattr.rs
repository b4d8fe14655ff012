// SPDX-License-Identifier: GPL-2.0

//! `daxfs-selftest xattr DIR`: the extended-attribute calls as applications use them, with the
//! errno each case gives on ext4 and XFS, in a fresh directory DIR (run as root): set, create
//! and replace, get with a buffer too small and a size query, list, remove, the empty value,
//! a value too large for the file system, filling up and making room again, `trusted.`
//! hidden from an unprivileged process, `user.` refused on a symlink, and the change time.

use std::{
    ffi::CString,
    io::Error,
    os::unix::fs::MetadataExt, //
};

use crate::Res;

fn c(s: &str) -> Res<CString> {
    CString::new(s).map_err(|e| e.to_string())
}

/// The errno of the last failed call.
fn errno() -> i32 {
    Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The name of the errnos these calls give.
fn name(errno: i32) -> String {
    match errno {
        libc::ENODATA => "ENODATA".into(),
        libc::EEXIST => "EEXIST".into(),
        libc::ERANGE => "ERANGE".into(),
        libc::ENOSPC => "ENOSPC".into(),
        libc::E2BIG => "E2BIG".into(),
        libc::EPERM => "EPERM".into(),
        libc::EACCES => "EACCES".into(),
        libc::EOPNOTSUPP => "EOPNOTSUPP".into(),
        libc::EINVAL => "EINVAL".into(),
        0 => "success".into(),
        e => format!("errno {e}"),
    }
}

/// `lsetxattr(path, attr, value, flags)`: 0 or the errno.
fn set(path: &str, attr: &str, value: &[u8], flags: i32) -> Res<i32> {
    let (path, attr) = (c(path)?, c(attr)?);
    // SAFETY: NUL-terminated strings and a buffer of `value.len()` bytes, live for the call.
    let ret = unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            attr.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            flags,
        )
    };
    Ok(if ret == 0 { 0 } else { errno() })
}

/// `lgetxattr` into a buffer of `size` bytes (a size query if 0): the bytes, or the errno.
fn get_sized(path: &str, attr: &str, size: usize) -> Res<Result<Vec<u8>, i32>> {
    let (path, attr) = (c(path)?, c(attr)?);
    // SAFETY: NUL-terminated strings, and a buffer of `size` bytes or NULL with size 0.
    Ok(sized(size, |buf| unsafe {
        libc::lgetxattr(path.as_ptr(), attr.as_ptr(), buf, size)
    }))
}

/// Calls `call` with a buffer of `size` bytes, or NULL if `size` is 0 (a size query): the
/// bytes it filled (for a size query, as many zeros as it says it needs), or the errno.
fn sized(size: usize, call: impl FnOnce(*mut libc::c_void) -> isize) -> Result<Vec<u8>, i32> {
    let mut buf = vec![0u8; size];
    let pointer = if size == 0 {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr().cast()
    };
    let len = usize::try_from(call(pointer)).map_err(|_| errno())?;
    buf.resize(len, 0);
    Ok(buf)
}

/// The value of `attr`, which must exist.
fn get(path: &str, attr: &str) -> Res<Vec<u8>> {
    get_sized(path, attr, 65536)?.map_err(|e| format!("getxattr {path} {attr}: {}", name(e)))
}

/// `lgetxattr` must fail with `want`.
fn get_fails(path: &str, attr: &str, size: usize, want: i32) -> Res {
    match get_sized(path, attr, size)? {
        Err(e) if e == want => Ok(()),
        Err(e) => Err(format!(
            "getxattr {path} {attr} size {size}: {}, expected {}",
            name(e),
            name(want)
        )),
        Ok(_) => Err(format!(
            "getxattr {path} {attr} size {size} succeeded, expected {}",
            name(want)
        )),
    }
}

/// `lremovexattr`: 0 or the errno.
fn remove(path: &str, attr: &str) -> Res<i32> {
    let (path, attr) = (c(path)?, c(attr)?);
    // SAFETY: NUL-terminated strings live for the call.
    let ret = unsafe { libc::lremovexattr(path.as_ptr(), attr.as_ptr()) };
    Ok(if ret == 0 { 0 } else { errno() })
}

/// `llistxattr` into a buffer of `size` bytes (a size query if 0): the names, or the errno.
fn list_sized(path: &str, size: usize) -> Res<Result<Vec<String>, i32>> {
    let path = c(path)?;
    // SAFETY: A NUL-terminated string, and a buffer of `size` bytes or NULL with size 0.
    let buf = match sized(size, |buf| unsafe {
        libc::llistxattr(path.as_ptr(), buf.cast(), size)
    }) {
        Ok(buf) => buf,
        Err(e) => return Ok(Err(e)),
    };
    if size == 0 {
        return Ok(Ok(vec![String::new(); buf.len()]));
    }
    let mut names: Vec<String> = buf
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    names.sort();
    check!(
        buf.last() == Some(&0) || buf.is_empty(),
        "listxattr {path:?}: the last name is not NUL-terminated"
    );
    Ok(Ok(names))
}

/// The sorted names of `path`'s attributes, without those a security module adds.
fn list(path: &str) -> Res<Vec<String>> {
    let names = list_sized(path, 65536)?.map_err(|e| format!("listxattr {path}: {}", name(e)))?;
    Ok(names
        .into_iter()
        .filter(|n| !n.starts_with("security.selinux"))
        .collect())
}

/// `set` must give `want` (0 for success).
fn expect_set(path: &str, attr: &str, value: &[u8], flags: i32, want: i32) -> Res {
    let got = set(path, attr, value, flags)?;
    check!(
        got == want,
        "setxattr {path} {attr} ({} bytes, flags {flags}): {}, expected {}",
        value.len(),
        name(got),
        name(want)
    );
    Ok(())
}

/// `remove` must give `want`.
fn expect_remove(path: &str, attr: &str, want: i32) -> Res {
    let got = remove(path, attr)?;
    check!(
        got == want,
        "removexattr {path} {attr}: {}, expected {}",
        name(got),
        name(want)
    );
    Ok(())
}

/// The whole check in directory `dir`.
pub(crate) fn run(dir: &str) -> Res {
    let file = format!("{dir}/xattr-file");
    std::fs::write(&file, b"data").map_err(|e| format!("create {file}: {e}"))?;

    // Set, get, the size query, a buffer too small.
    let ctime = |path: &str| -> Res<(i64, i64)> {
        let m = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
        Ok((m.ctime(), m.ctime_nsec()))
    };
    let before = ctime(&file)?;
    std::thread::sleep(std::time::Duration::from_millis(20));
    expect_set(&file, "user.a", b"one", 0, 0)?;
    check!(
        ctime(&file)? > before,
        "setxattr left the change time as it was"
    );
    check!(
        get(&file, "user.a")? == b"one",
        "user.a reads {:?}",
        get(&file, "user.a")?
    );
    let query = get_sized(&file, "user.a", 0)?.map_err(name)?;
    check!(query.len() == 3, "size query of user.a: {}", query.len());
    get_fails(&file, "user.a", 2, libc::ERANGE)?;
    get_fails(&file, "user.missing", 64, libc::ENODATA)?;
    get_fails(&file, "trusted.a", 64, libc::ENODATA)?;

    // Create and replace.
    expect_set(&file, "user.a", b"two", libc::XATTR_CREATE, libc::EEXIST)?;
    expect_set(&file, "user.b", b"two", libc::XATTR_REPLACE, libc::ENODATA)?;
    expect_set(&file, "user.a", b"replaced", libc::XATTR_REPLACE, 0)?;
    expect_set(&file, "user.b", b"new", libc::XATTR_CREATE, 0)?;
    check!(
        get(&file, "user.a")? == b"replaced",
        "user.a was not replaced"
    );
    // The same name in another namespace is another attribute.
    expect_set(&file, "trusted.a", b"root only", 0, 0)?;
    check!(
        get(&file, "user.a")? == b"replaced",
        "trusted.a changed user.a"
    );
    // The empty value exists and is listed.
    expect_set(&file, "user.empty", b"", 0, 0)?;
    check!(
        get(&file, "user.empty")?.is_empty(),
        "user.empty is not empty"
    );

    // List: the names, the size query, a buffer too small.
    let names = list(&file)?;
    check!(
        names == ["trusted.a", "user.a", "user.b", "user.empty"],
        "listxattr: {names:?}"
    );
    let total: usize = names.iter().map(|n| n.len() + 1).sum();
    let query = list_sized(&file, 0)?.map_err(name)?;
    check!(
        query.len() >= total,
        "list size query {} < {total}",
        query.len()
    );
    match list_sized(&file, total - 1)? {
        Err(libc::ERANGE) => {}
        other => return Err(format!("listxattr with a buffer one byte short: {other:?}")),
    }

    // An unprivileged process neither lists nor reads trusted., and may not set user. on a
    // file it cannot write.
    let path = c(&file)?;
    let trusted = c("trusted.a")?;
    let user = c("user.c")?;
    // SAFETY: Forks a single-threaded process; the child drops privileges, makes its calls
    // and exits with a code that says what it saw.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = (|| {
            // SAFETY: Plain system calls on valid strings and buffers.
            unsafe {
                if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
                    return 10;
                }
                let mut buf = [0u8; 256];
                let len = libc::llistxattr(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len());
                if len < 0 {
                    return 11;
                }
                // CAST: non-negative.
                if buf[..len as usize].windows(8).any(|w| w == b"trusted.") {
                    return 12;
                }
                let got = libc::lgetxattr(
                    path.as_ptr(),
                    trusted.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                );
                if got >= 0 || errno() != libc::ENODATA {
                    return 13;
                }
                let set = libc::lsetxattr(path.as_ptr(), user.as_ptr(), buf.as_ptr().cast(), 1, 0);
                if set == 0 || errno() != libc::EACCES {
                    return 14;
                }
                0
            }
        })();
        // SAFETY: Leaves the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: Waits for our own child.
    check!(
        pid > 0 && unsafe { libc::waitpid(pid, &mut status, 0) } == pid,
        "fork or waitpid: {}",
        Error::last_os_error()
    );
    check!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "unprivileged checks: child status {status:#x} (10 setuid, 11 list, 12 trusted. listed, \
         13 trusted. read, 14 user. set on a read-only file)"
    );

    // Remove.
    expect_remove(&file, "user.b", 0)?;
    expect_remove(&file, "user.b", libc::ENODATA)?;
    get_fails(&file, "user.b", 64, libc::ENODATA)?;
    check!(
        list(&file)? == ["trusted.a", "user.a", "user.empty"],
        "after removing user.b: {:?}",
        list(&file)?
    );

    // A value larger than a block does not fit (as on ext4 without ea_inode); one that does
    // reads back whole.
    expect_set(&file, "user.big", &vec![7u8; 5000], 0, libc::ENOSPC)?;
    let value: Vec<u8> = (0..2000u32).map(|i| (i * 7 + 1) as u8).collect();
    expect_set(&file, "user.a", &value, 0, 0)?;
    check!(
        get(&file, "user.a")? == value,
        "a 2000-byte value does not read back"
    );

    // Filling the space: attributes are added until ENOSPC; removing one makes room for
    // another of the same size, and everything written reads back.
    let full = format!("{dir}/xattr-full");
    std::fs::write(&full, b"").map_err(|e| e.to_string())?;
    let mut count = 0;
    loop {
        let attr = format!("user.attribute_{count:03}");
        match set(&full, &attr, format!("value_{count:03}").as_bytes(), 0)? {
            0 => count += 1,
            libc::ENOSPC => break,
            e => return Err(format!("setxattr {attr}: {}", name(e))),
        }
        check!(count < 1000, "more than 1000 attributes fit in one file");
    }
    check!(count >= 50, "only {count} small attributes fit");
    expect_remove(&full, "user.attribute_000", 0)?;
    expect_set(&full, "user.attribute_new", b"value_new", 0, 0)?;
    for i in 1..count {
        let want = format!("value_{i:03}");
        check!(
            get(&full, &format!("user.attribute_{i:03}"))? == want.as_bytes(),
            "user.attribute_{i:03} lost its value"
        );
    }
    check!(list(&full)?.len() == count, "listxattr of the full file");

    // user. only on regular files and directories; trusted. on a symlink too.
    let link = format!("{dir}/xattr-link");
    std::os::unix::fs::symlink("xattr-file", &link).map_err(|e| e.to_string())?;
    expect_set(&link, "user.a", b"x", 0, libc::EPERM)?;
    expect_set(&link, "trusted.a", b"on the link", 0, 0)?;
    check!(
        get(&link, "trusted.a")? == b"on the link",
        "trusted.a of the symlink"
    );
    check!(
        get(&file, "trusted.a")? == b"root only",
        "the symlink's attribute reached its target"
    );
    let subdir = format!("{dir}/xattr-dir");
    std::fs::create_dir(&subdir).map_err(|e| e.to_string())?;
    expect_set(&subdir, "user.d", b"on a directory", 0, 0)?;
    check!(
        get(&subdir, "user.d")? == b"on a directory",
        "user.d of the directory"
    );

    // Names: too long is ERANGE, an unknown namespace EOPNOTSUPP (the VFS's answers).
    expect_set(
        &file,
        &format!("user.{}", "n".repeat(251)),
        b"x",
        0,
        libc::ERANGE,
    )?;
    expect_set(&file, &format!("user.{}", "n".repeat(250)), b"x", 0, 0)?;
    expect_set(&file, "unknown.a", b"x", 0, libc::EOPNOTSUPP)?;
    Ok(())
}
