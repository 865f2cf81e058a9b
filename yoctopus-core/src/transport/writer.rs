//! The one writer of a connection: drains the outbound queue, several frames per write.
//!
//! Frames that are queued together (pipelined replies, a burst of pushes) go out in one system
//! call. A close frame is the last thing written.

use fastwebsockets::{Frame, OpCode, Payload};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::{Outbound, UrgentClose};

/// Frames are gathered until a batch reaches this size; larger frames go out on their own.
const BATCH_BYTES: usize = 64 * 1024;

/// Writes queued frames until a close frame is written, the queue ends, or the socket fails.
pub(crate) async fn write_frames<W: AsyncWrite + Unpin>(
    mut socket: W,
    mut queue: mpsc::Receiver<Outbound>,
    urgent: &UrgentClose,
) {
    let mut batch: Vec<u8> = Vec::new();
    loop {
        let first = tokio::select! {
            biased;
            code = urgent.requested() => Outbound::Close { code, reason: "" },
            next = queue.recv() => match next {
                Some(next) => next,
                None => return,
            },
        };
        let mut closing = encode(first, &mut batch);
        while !closing && batch.len() < BATCH_BYTES {
            match queue.try_recv() {
                Ok(next) => closing = encode(next, &mut batch),
                Err(_) => break,
            }
        }
        let written = async {
            socket.write_all(&batch).await?;
            socket.flush().await
        };
        if let Err(error) = written.await {
            tracing::debug!(%error, "writing to the client failed");
            return;
        }
        if closing {
            let _ = socket.shutdown().await;
            return;
        }
        batch.clear();
        if batch.capacity() > BATCH_BYTES {
            batch.shrink_to(BATCH_BYTES);
        }
    }
}

/// Appends one frame to `batch`; returns whether it was a close frame.
fn encode(outbound: Outbound, batch: &mut Vec<u8>) -> bool {
    let (opcode, payload, closing): (OpCode, &[u8], bool) = match &outbound {
        Outbound::Text(text) => (OpCode::Text, text, false),
        Outbound::Binary(bytes) => (OpCode::Binary, bytes, false),
        Outbound::Pong(payload) => (OpCode::Pong, payload, false),
        Outbound::Ping => (OpCode::Ping, &[], false),
        Outbound::Close { code, reason } => {
            let mut frame = Frame::close(*code, reason.as_bytes());
            append(&mut frame, batch);
            return true;
        }
    };
    let mut frame = Frame::new(true, opcode, None, Payload::Borrowed(payload));
    append(&mut frame, batch);
    closing
}

fn append(frame: &mut Frame<'_>, batch: &mut Vec<u8>) {
    let mut head = [0; 16];
    let head_length = frame.fmt_head(&mut head);
    batch.reserve(head_length + frame.payload.len());
    batch.extend_from_slice(&head[..head_length]);
    batch.extend_from_slice(&frame.payload);
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tokio::sync::mpsc;

    use super::write_frames;
    use crate::transport::{Outbound, UrgentClose};

    #[tokio::test]
    async fn queued_frames_are_written_in_order_and_nothing_follows_a_close() {
        let (queue, queued) = mpsc::channel(8);
        queue
            .send(Outbound::Text(Bytes::from_static(b"hi")))
            .await
            .unwrap();
        queue.send(Outbound::Ping).await.unwrap();
        queue
            .send(Outbound::Close {
                code: 1001,
                reason: "",
            })
            .await
            .unwrap();
        queue
            .send(Outbound::Text(Bytes::from_static(b"late")))
            .await
            .unwrap();
        let mut written = Vec::new();
        write_frames(&mut written, queued, &UrgentClose::default()).await;
        assert_eq!(written, [0x81, 2, b'h', b'i', 0x89, 0, 0x88, 2, 0x03, 0xE9]);
    }

    #[tokio::test]
    async fn long_payloads_get_extended_lengths() {
        let (queue, queued) = mpsc::channel(8);
        queue
            .send(Outbound::Binary(Bytes::from(vec![7; 300])))
            .await
            .unwrap();
        drop(queue);
        let mut written = Vec::new();
        write_frames(&mut written, queued, &UrgentClose::default()).await;
        assert_eq!(&written[..4], [0x82, 126, 0x01, 0x2C]);
        assert_eq!(written.len(), 4 + 300);
    }
}
