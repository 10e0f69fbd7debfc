//! Standard input (`-`) as a log source.
//!
//! Reading a pipe blocks until the writer produces something, and tokio's own stdin handle is
//! not safe to cancel while a read is in flight, so a dedicated thread does the blocking reads
//! and hands chunks over a small bounded channel. The channel bounds memory (a few chunks) and
//! passes back-pressure to the writer through the pipe.

use std::io::{self, Read};

use tokio::sync::mpsc;

use super::lines::{LineSplitter, Piece};

/// Chunk size of stdin reads.
pub const STDIN_CHUNK: usize = 64 << 10;

/// Spawns a thread that reads `input` in chunks until end of input or the receiver is dropped.
/// The channel closes at end of input; a read error is sent once, then the channel closes.
pub fn spawn_chunk_reader<R>(mut input: R, depth: usize) -> mpsc::Receiver<io::Result<Vec<u8>>>
where
    R: Read + Send + 'static,
{
    let (tx, rx) = mpsc::channel(depth.max(1));
    let spawned = std::thread::Builder::new()
        .name("corstop-stdin".into())
        .spawn(move || {
            loop {
                let mut buf = vec![0u8; STDIN_CHUNK];
                let n = match input.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                };
                buf.truncate(n);
                if tx.blocking_send(Ok(buf)).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the stdin reader thread");
    }
    rx
}

/// Reads a whole stream synchronously in large chunks, handing out complete lines (the last
/// line is handed out even without its newline). Returns the number of bytes read.
pub fn read_lines_to_end(
    input: &mut dyn Read,
    splitter: &mut LineSplitter,
    on: &mut dyn FnMut(Piece<'_>),
) -> io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        bytes += n as u64;
        splitter.push(&buf[..n], on);
    }
    splitter.finish(on);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_arrive_then_channel_closes() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251) as u8..=(i % 251) as u8)
            .collect();
        let mut rx = spawn_chunk_reader(io::Cursor::new(data.clone()), 2);
        let mut got = Vec::new();
        while let Some(chunk) = rx.recv().await {
            got.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(got, data);
    }

    #[test]
    fn sync_reader_flushes_the_last_line() {
        let mut input = io::Cursor::new(b"a\nb\nc".to_vec());
        let mut lines = Vec::new();
        let mut splitter = LineSplitter::default();
        let bytes = read_lines_to_end(&mut input, &mut splitter, &mut |p| {
            if let Piece::Line(l) = p {
                lines.push(l.to_vec());
            }
        })
        .unwrap();
        assert_eq!(bytes, 5);
        assert_eq!(lines, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }
}
