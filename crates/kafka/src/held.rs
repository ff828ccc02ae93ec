//! A queue for the messages flow control holds back, in chunks.
//!
//! Catching up a backlog, flow control can hold most of it (a week pre-produced to Tansu: 160,000
//! of 197,462 messages at once, `docs/benchmarks.md`). In one `VecDeque` per partition that grew
//! by doubling to tens of megabytes, and each growth copied everything held and touched fresh
//! memory: 6% of the engine task's time under `perf`. In fixed-size chunks nothing held is ever
//! moved again, and a chunk drained at the front is freed for the allocator to hand back out
//! for the next one.

use std::collections::VecDeque;

/// Items per chunk: a chunk of the ingest loop's messages is a few hundred kilobytes.
const CHUNK: usize = 1024;

/// A double-ended queue of `T` kept in chunks of at most [`CHUNK`] items that never grow.
#[derive(Debug)]
pub(crate) struct ChunkedDeque<T> {
    chunks: VecDeque<VecDeque<T>>,
    len: usize,
}

impl<T> Default for ChunkedDeque<T> {
    fn default() -> Self {
        Self {
            chunks: VecDeque::new(),
            len: 0,
        }
    }
}

impl<T> ChunkedDeque<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push_back(&mut self, item: T) {
        match self.chunks.back_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push_back(item),
            _ => {
                let mut chunk = VecDeque::with_capacity(CHUNK);
                chunk.push_back(item);
                self.chunks.push_back(chunk);
            }
        }
        self.len += 1;
    }

    pub fn push_front(&mut self, item: T) {
        match self.chunks.front_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push_front(item),
            _ => {
                let mut chunk = VecDeque::with_capacity(CHUNK);
                chunk.push_front(item);
                self.chunks.push_front(chunk);
            }
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<T> {
        let chunk = self.chunks.front_mut()?;
        let item = chunk.pop_front();
        if chunk.is_empty() {
            self.chunks.pop_front();
        }
        if item.is_some() {
            self.len -= 1;
        }
        item
    }

    /// Keeps the items `keep` says to, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        for chunk in &mut self.chunks {
            chunk.retain(&mut keep);
        }
        self.chunks.retain(|c| !c.is_empty());
        self.len = self.chunks.iter().map(VecDeque::len).sum();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        PushBack(u32),
        PushFront(u32),
        PopFront,
        RetainOdd,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => any::<u32>().prop_map(Op::PushBack),
            2 => any::<u32>().prop_map(Op::PushFront),
            6 => Just(Op::PopFront),
            1 => Just(Op::RetainOdd),
        ]
    }

    proptest! {
        /// Whatever the sequence of operations, across chunk boundaries, it holds exactly what
        /// a plain `VecDeque` would, in the same order.
        #[test]
        fn behaves_as_a_vecdeque(ops in prop::collection::vec(op(), 0..5000)) {
            let mut chunked = ChunkedDeque::default();
            let mut plain = VecDeque::new();
            for op in ops {
                match op {
                    Op::PushBack(x) => { chunked.push_back(x); plain.push_back(x); }
                    Op::PushFront(x) => { chunked.push_front(x); plain.push_front(x); }
                    Op::PopFront => prop_assert_eq!(chunked.pop_front(), plain.pop_front()),
                    Op::RetainOdd => { chunked.retain(|x| x % 2 == 1); plain.retain(|x| x % 2 == 1); }
                }
                prop_assert_eq!(chunked.len(), plain.len());
                prop_assert_eq!(chunked.is_empty(), plain.is_empty());
                prop_assert!(chunked.chunks.iter().all(|c| !c.is_empty() && c.len() <= CHUNK));
            }
            let rest: Vec<u32> = std::iter::from_fn(|| chunked.pop_front()).collect();
            prop_assert_eq!(rest, Vec::from(plain));
        }
    }
}
