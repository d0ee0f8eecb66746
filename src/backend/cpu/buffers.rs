//! Activation buffer reuse by liveness. The executor frees every intermediate tensor after its
//! last reader; instead of returning a large buffer to the system allocator (for big blocks that
//! means `munmap`, then fresh zeroed pages and a page fault per 4 KiB on the next allocation), it
//! parks the buffer here, and the next kernel output of a fitting size takes it. Over a run the
//! parked buffers form an arena as large as the most activation memory live at once.
//!
//! The pool of the running engine is installed for the executor's thread ([`scoped`]); kernels ask
//! for output buffers with [`take`] (contents unspecified: the caller overwrites every element) or
//! [`zeroed`]. On threads without a pool both fall back to plain allocation.

use crate::tensor::{Element, Tensor, TensorData};
use std::cell::RefCell;

/// Buffers smaller than this go back to the allocator: malloc's own free lists serve them well.
const MIN_BYTES: usize = 64 << 10;
/// A parked buffer serves a request only if it wastes less than this factor of its capacity.
const MAX_WASTE: usize = 4;

/// Parked buffers of one engine run (or of one session between runs).
#[derive(Default)]
pub struct BufferPool {
    free: Vec<TensorData>,
}

impl BufferPool {
    /// Bytes parked now.
    pub fn parked_bytes(&self) -> usize {
        self.free.iter().map(|d| d.capacity_bytes()).sum()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<BufferPool>> = const { RefCell::new(None) };
}

/// Runs `f` with `pool` as this thread's pool; returns `f`'s result and the pool.
pub fn scoped<R>(pool: BufferPool, f: impl FnOnce() -> R) -> (R, BufferPool) {
    let outer = CURRENT.with(|c| c.borrow_mut().replace(pool));
    let r = f();
    let pool = CURRENT
        .with(|c| std::mem::replace(&mut *c.borrow_mut(), outer))
        .unwrap_or_default();
    (r, pool)
}

/// Parks the buffer of a tensor nobody reads any more.
pub fn recycle(t: Tensor) {
    let d = t.into_data();
    if d.capacity_bytes() < MIN_BYTES {
        return;
    }
    CURRENT.with(|c| {
        if let Some(pool) = c.borrow_mut().as_mut() {
            pool.free.push(d);
        }
    });
}

/// Parks a scratch buffer (a packed operand, a column matrix) for the next request.
pub fn give_back<T: Element>(v: Vec<T>) {
    let n = v.len();
    if let Ok(t) = Tensor::from_vec(vec![n], v) {
        recycle(t);
    }
}

/// A buffer of `n` elements whose contents are unspecified (old values or defaults): for outputs
/// the caller writes completely.
pub fn take<T: Element>(n: usize) -> Vec<T> {
    let bytes = n * std::mem::size_of::<T>();
    if bytes >= MIN_BYTES {
        let found = CURRENT.with(|c| {
            let mut c = c.borrow_mut();
            let pool = c.as_mut()?;
            // Best fit: the smallest parked buffer of this dtype that holds n elements.
            let i = pool
                .free
                .iter()
                .enumerate()
                .filter(|(_, d)| d.dtype() == T::DTYPE)
                .map(|(i, d)| (i, d.capacity_bytes()))
                .filter(|&(_, cap)| cap >= bytes && cap <= bytes.saturating_mul(MAX_WASTE))
                .min_by_key(|&(_, cap)| cap)?
                .0;
            T::into_vec(pool.free.swap_remove(i))
        });
        if let Some(mut v) = found {
            if v.len() >= n {
                v.truncate(n);
            } else {
                v.resize(n, T::default());
            }
            return v;
        }
    }
    vec![T::default(); n]
}

/// A buffer of `n` default (zero) elements.
pub fn zeroed<T: Element>(n: usize) -> Vec<T> {
    let mut v = take::<T>(n);
    v.fill(T::default());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_buffer_serves_the_next_request_of_a_fitting_size() {
        let n = 1 << 16;
        let t = Tensor::from_vec(vec![n], vec![1.5f32; n]).unwrap();
        let ptr = t.as_slice::<f32>().unwrap().as_ptr();
        let ((), pool) = scoped(BufferPool::default(), || {
            recycle(t);
            let v = take::<f32>(n - 10);
            assert_eq!(v.as_ptr(), ptr, "the parked buffer is reused");
            assert_eq!(v.len(), n - 10);
            // Nothing parked now: a fresh zeroed allocation.
            let w = zeroed::<f32>(n);
            assert!(w.iter().all(|&x| x == 0.0));
        });
        assert_eq!(pool.parked_bytes(), 0);
        // Without a pool on this thread, take allocates.
        assert_eq!(take::<f32>(4).len(), 4);
    }
}
