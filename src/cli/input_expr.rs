//! Parses `--input` values: `NAME=FILE.npy`, or `NAME=EXPR` where EXPR is a nested-list literal as
//! `saved_model_cli` takes it (`x=[[1,2,3]]`, `flag=true`, `n=3`). Written by hand: a full Python
//! literal parser would be far more than this grammar of numbers, booleans and brackets needs.

use crate::{DType, Tensor};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// One `--input` after parsing the part before `=`.
pub enum InputSpec {
    File(String),
    Expr(String),
}

/// Splits `NAME=VALUE`; VALUE is a file when it ends in `.npy` or names an existing file.
pub fn parse_arg(arg: &str) -> Result<(String, InputSpec)> {
    let (name, value) = arg
        .split_once('=')
        .with_context(|| format!("--input '{arg}': expected NAME=FILE.npy or NAME=EXPR"))?;
    if name.is_empty() {
        bail!("--input '{arg}': the input name is empty");
    }
    let spec = if value.ends_with(".npy") || (!value.starts_with('[') && Path::new(value).is_file())
    {
        InputSpec::File(value.to_string())
    } else {
        InputSpec::Expr(value.to_string())
    };
    Ok((name.to_string(), spec))
}

#[derive(Debug, Clone, Copy)]
enum Lit {
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// Parses EXPR into a tensor of `dtype` (or, when the model does not say, f32 if any literal is a
/// float, bool if all are booleans, else i64).
pub fn parse_expr(expr: &str, dtype: Option<DType>) -> Result<Tensor> {
    let mut p = Parser {
        s: expr.as_bytes(),
        i: 0,
        values: vec![],
    };
    let shape = p
        .value(0)
        .with_context(|| format!("cannot parse '{expr}' as a nested list"))?;
    p.skip_ws();
    if p.i != p.s.len() {
        bail!("cannot parse '{expr}': unexpected text at offset {}", p.i);
    }
    let dtype = dtype.unwrap_or_else(|| {
        if p.values.iter().any(|v| matches!(v, Lit::Float(_))) {
            DType::F32
        } else if !p.values.is_empty() && p.values.iter().all(|v| matches!(v, Lit::Bool(_))) {
            DType::Bool
        } else {
            DType::I64
        }
    });
    let as_f64: Vec<f64> = p
        .values
        .iter()
        .map(|v| match *v {
            Lit::Int(i) => i as f64,
            Lit::Float(f) => f,
            Lit::Bool(b) => b as u8 as f64,
        })
        .collect();
    let exact_ints: Option<Vec<i64>> = p
        .values
        .iter()
        .map(|v| if let Lit::Int(i) = v { Some(*i) } else { None })
        .collect();
    // Integers stay exact (i64 through f64 would lose precision above 2^53).
    let t = match exact_ints {
        Some(ints) if dtype.is_int() => Tensor::from_vec(shape.clone(), ints)?.cast(dtype),
        _ => Tensor::from_vec(shape, as_f64)?.cast(dtype),
    };
    Ok(t)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    values: Vec<Lit>,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    /// Parses a value; returns its shape. Nested lists must be rectangular.
    fn value(&mut self, depth: usize) -> Result<Vec<usize>> {
        if depth > 32 {
            bail!("lists nested deeper than 32");
        }
        self.skip_ws();
        if self.s.get(self.i) == Some(&b'[') {
            self.i += 1;
            let mut inner: Option<Vec<usize>> = None;
            let mut n = 0;
            loop {
                self.skip_ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    break;
                }
                if n > 0 {
                    if self.s.get(self.i) != Some(&b',') {
                        bail!("expected ',' or ']' at offset {}", self.i);
                    }
                    self.i += 1;
                    self.skip_ws();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        break;
                    }
                }
                let sh = self.value(depth + 1)?;
                match &inner {
                    None => inner = Some(sh),
                    Some(prev) if *prev != sh => {
                        bail!("ragged list: elements of shapes {prev:?} and {sh:?}")
                    }
                    _ => {}
                }
                n += 1;
            }
            let mut shape = vec![n];
            shape.extend(inner.unwrap_or_default());
            Ok(shape)
        } else {
            let start = self.i;
            while self.i < self.s.len()
                && !matches!(self.s[self.i], b',' | b']' | b' ' | b'\t' | b'\n')
            {
                self.i += 1;
            }
            let tok = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
            let lit = match tok {
                "true" | "True" => Lit::Bool(true),
                "false" | "False" => Lit::Bool(false),
                "" => bail!("expected a number at offset {start}"),
                t => match t.parse::<i64>() {
                    Ok(i) => Lit::Int(i),
                    Err(_) => Lit::Float(
                        t.parse::<f64>()
                            .map_err(|_| anyhow::anyhow!("'{t}' is not a number"))?,
                    ),
                },
            };
            self.values.push(lit);
            Ok(vec![])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_lists_and_dtypes() {
        let t = parse_expr("[[1,2,3],[4,5,6]]", Some(DType::F32)).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(
            t.as_slice::<f32>().unwrap(),
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        let t = parse_expr("[1, 2.5e1]", None).unwrap();
        assert_eq!(t.as_slice::<f32>().unwrap(), &[1.0, 25.0]);
        let t = parse_expr("7", None).unwrap();
        assert_eq!(t.shape(), &[] as &[usize]);
        assert_eq!(t.as_slice::<i64>().unwrap(), &[7]);
        let t = parse_expr("[9007199254740993]", Some(DType::I64)).unwrap();
        assert_eq!(t.as_slice::<i64>().unwrap(), &[9007199254740993]);
        assert!(parse_expr("[[1,2],[3]]", None).is_err());
        assert!(parse_expr("[1,", None).is_err());
        assert_eq!(parse_expr("[]", Some(DType::F32)).unwrap().shape(), &[0]);
    }
}
