//! Byte buffers that go out as they are: owned by one consumer, or shared between
//! several (a cycle's serialized lines, sent to every client and the spool without a
//! copy).

use std::sync::Arc;

pub enum Chunk {
    Owned(Vec<u8>),
    Shared(Arc<Vec<u8>>),
}

impl Chunk {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Owned(bytes) => bytes,
            Chunk::Shared(bytes) => bytes,
        }
    }

    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }
}
