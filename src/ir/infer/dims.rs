//! Arithmetic on possibly symbolic dims: broadcasting, products, the convolution output size, and
//! the integer contents of shape tensors that inference tracks.

use crate::ir::Dim;

/// One element of a tracked integer tensor: a known number, a symbolic dim, or unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntVal {
    Int(i64),
    Sym(String),
    Unknown,
}

impl IntVal {
    /// This element as a dim (negative numbers are no dim).
    pub fn to_dim(&self) -> Dim {
        match self {
            IntVal::Int(n) if *n >= 0 => Dim::Fixed(*n as usize),
            IntVal::Sym(s) => Dim::Symbol(s.clone()),
            _ => Dim::Unknown,
        }
    }

    pub fn of_dim(d: &Dim) -> IntVal {
        match d {
            Dim::Fixed(n) => IntVal::Int(*n as i64),
            Dim::Symbol(s) => IntVal::Sym(s.clone()),
            Dim::Unknown => IntVal::Unknown,
        }
    }
}

/// Multidirectional (numpy) broadcasting of possibly symbolic shapes. `None` when fixed dims
/// contradict each other (the kernel will report it). A symbol broadcast with 1 or with itself
/// stays; a symbol against a fixed `n > 1` is `n` (any other value would be an error at run time).
pub fn broadcast(shapes: &[&[Dim]]) -> Option<Vec<Dim>> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = Vec::with_capacity(rank);
    for i in 0..rank {
        let at = shapes
            .iter()
            .filter_map(|s| (i + s.len()).checked_sub(rank).map(|j| &s[j]));
        let mut fixed: Option<usize> = None;
        let mut others: Vec<&Dim> = vec![];
        for d in at {
            match d {
                Dim::Fixed(1) => {}
                Dim::Fixed(n) => match fixed {
                    Some(f) if f != *n => return None,
                    _ => fixed = Some(*n),
                },
                d => others.push(d),
            }
        }
        out.push(match (fixed, others.first()) {
            (Some(n), _) => Dim::Fixed(n),
            (None, None) => Dim::Fixed(1),
            (None, Some(first)) if others.iter().all(|d| d == first) => (*first).clone(),
            _ => Dim::Unknown,
        });
    }
    Some(out)
}

/// The product of dims: fixed when all are fixed; a lone symbol times 1s stays that symbol.
pub fn product(dims: &[Dim]) -> Dim {
    let mut fixed = 1usize;
    let mut sym: Option<&Dim> = None;
    for d in dims {
        match d {
            Dim::Fixed(n) => fixed = fixed.saturating_mul(*n),
            Dim::Symbol(_) if sym.is_none() => sym = Some(d),
            _ => return Dim::Unknown,
        }
    }
    match sym {
        None => Dim::Fixed(fixed),
        Some(s) if fixed == 1 => s.clone(),
        Some(_) if fixed == 0 => Dim::Fixed(0),
        Some(_) => Dim::Unknown,
    }
}

/// Output size of a convolution or pooling window along one axis:
/// `⌊(in + pads − dilation·(k−1) − 1) / stride⌋ + 1` (rounded up with `ceil`). `None` when the
/// window does not fit or the stride is zero.
pub fn conv_output_dim(
    input: usize,
    kernel: usize,
    stride: usize,
    pads: usize,
    dilation: usize,
    ceil: bool,
) -> Option<usize> {
    if stride == 0 || kernel == 0 {
        return None;
    }
    let span = dilation.checked_mul(kernel - 1)?.checked_add(1)?;
    let room = input.checked_add(pads)?.checked_sub(span)?;
    Some(
        if ceil {
            room.div_ceil(stride)
        } else {
            room / stride
        } + 1,
    )
}

/// A dim from a constant integer (negative values are not dims).
pub fn from_i64(v: i64) -> Dim {
    if v >= 0 {
        Dim::Fixed(v as usize)
    } else {
        Dim::Unknown
    }
}

/// Normalizes a possibly negative axis; `None` when out of range.
pub fn axis(a: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if a < 0 { a + r } else { a };
    (0..r).contains(&a).then_some(a as usize)
}
