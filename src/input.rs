//! Reading input files (suites, schemas, the token file) safely: only
//! regular files, never more than a cap. A FIFO used to block the run
//! forever and `/dev/zero` to read until memory ran out.

use std::io::Read as _;
use std::path::Path;

/// Largest suite or schema file read.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Largest token file read: a token is one short line.
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

/// `std::fs::read_to_string` for inputs, capped at [`MAX_INPUT_BYTES`].
pub fn read_to_string(path: &Path) -> std::io::Result<String> {
    read_capped(path, MAX_INPUT_BYTES)
}

/// The text of the regular file `path`; anything else (a FIFO, a device,
/// a directory) or a file over `cap` bytes is an error saying so.
pub fn read_capped(path: &Path, cap: u64) -> std::io::Result<String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Opening a FIFO for reading blocks until a writer comes; non-blocking
    // it opens at once and is refused below. No effect on regular files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device or directory cannot be an input)",
        ));
    }
    let too_big = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than the {cap}-byte limit for input files"),
        )
    };
    if meta.len() > cap {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // The file may grow while read: the cap holds whatever its size said.
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_big());
    }
    String::from_utf8(bytes)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()))
}
