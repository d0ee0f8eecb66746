//! Optimization profiles, as TensorRT has them: for each input a plan was built for, the smallest,
//! the tuned-for and the largest shape it accepts. `--shapes` gives one fixed shape (min = opt = max,
//! which the build also binds into the graph); `--min-shapes/--opt-shapes/--max-shapes` give a range.
//! Checked against the model at build time and against every input at run time.

use crate::error::{Error, Result};
use crate::ir::{Dim, Model};
use crate::runtime::describe_inputs;
use serde::{Deserialize, Serialize};

/// The shapes one input accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputProfile {
    pub name: String,
    pub min: Vec<usize>,
    /// The shape kernels are tuned for (a hint; the CPU backend does not use it yet).
    pub opt: Vec<usize>,
    pub max: Vec<usize>,
}

/// One optimization profile. Inputs it does not name take any shape the model itself accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub inputs: Vec<InputProfile>,
}

/// `1x3x224x224` (an empty string for a scalar).
pub fn format_dims(d: &[usize]) -> String {
    d.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// Parses `NAME:1x3x224x224,NAME2:4` (trtexec's `--shapes` syntax). Names may contain `:`, the last
/// one separates the dims. `flag` names the option in errors.
pub fn parse_shape_list(flag: &str, s: &str) -> Result<Vec<(String, Vec<usize>)>> {
    let mut out: Vec<(String, Vec<usize>)> = vec![];
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (name, dims) = part.rsplit_once(':').ok_or_else(|| {
            Error::Input(format!(
                "{flag} '{part}': expected NAME:DIMS such as x:1x3x224x224"
            ))
        })?;
        let dims = if dims.is_empty() {
            vec![]
        } else {
            dims.split('x')
                .map(|d| {
                    d.parse::<usize>().map_err(|_| {
                        Error::Input(format!("{flag} '{part}': '{d}' is not a dimension"))
                    })
                })
                .collect::<Result<Vec<_>>>()?
        };
        if out.iter().any(|(n, _)| n == name) {
            return Err(Error::Input(format!("{flag} names input '{name}' twice")));
        }
        out.push((name.to_string(), dims));
    }
    Ok(out)
}

impl InputProfile {
    /// One fixed shape: min = opt = max.
    pub fn fixed(name: &str, dims: Vec<usize>) -> InputProfile {
        InputProfile {
            name: name.to_string(),
            min: dims.clone(),
            opt: dims.clone(),
            max: dims,
        }
    }

    pub fn is_fixed(&self) -> bool {
        self.min == self.max
    }

    /// Checks that min ≤ opt ≤ max dim by dim, at one rank.
    fn check_order(&self) -> Result<()> {
        let n = &self.name;
        if self.min.len() != self.opt.len() || self.opt.len() != self.max.len() {
            return Err(Error::Input(format!(
                "input '{n}': min {}, opt {} and max {} differ in rank",
                format_dims(&self.min),
                format_dims(&self.opt),
                format_dims(&self.max)
            )));
        }
        for i in 0..self.min.len() {
            let (lo, mid, hi) = (self.min[i], self.opt[i], self.max[i]);
            if lo > mid || mid > hi {
                return Err(Error::Input(format!(
                    "input '{n}' dim {i}: needs min ≤ opt ≤ max, got min {lo}, opt {mid}, max {hi}"
                )));
            }
        }
        Ok(())
    }

    /// Checks one concrete input shape; the error says which dim is out of range and what to
    /// rebuild with.
    pub fn check(&self, shape: &[usize]) -> Result<()> {
        let n = &self.name;
        if shape.len() != self.min.len() {
            return Err(Error::Input(format!(
                "input '{n}' has rank {}, the plan's profile has rank {} ({}); rebuild with --shapes {n}:{}",
                shape.len(),
                self.min.len(),
                format_dims(&self.min),
                format_dims(shape)
            )));
        }
        for (i, &d) in shape.iter().enumerate() {
            let (lo, hi) = (self.min[i], self.max[i]);
            if d >= lo && d <= hi {
                continue;
            }
            let allowed = if lo == hi {
                format!("only {lo}")
            } else {
                format!("{lo}..{hi}")
            };
            let hint = if self.is_fixed() {
                format!("--shapes {n}:{}", format_dims(shape))
            } else if d > hi {
                let m: Vec<usize> = self.max.iter().zip(shape).map(|(a, b)| *a.max(b)).collect();
                format!("--max-shapes {n}:{}", format_dims(&m))
            } else {
                let m: Vec<usize> = self.min.iter().zip(shape).map(|(a, b)| *a.min(b)).collect();
                format!("--min-shapes {n}:{}", format_dims(&m))
            };
            return Err(Error::Input(format!(
                "input '{n}' dim {i} is {d}, the plan's profile allows {allowed}; rebuild with {hint}"
            )));
        }
        Ok(())
    }
}

impl Profile {
    /// Combines the four shape options into one profile. An input is either fixed (`shapes`) or a
    /// range (`min` and `max`, with `opt` defaulting to `max`).
    pub fn from_flags(
        shapes: &[(String, Vec<usize>)],
        min: &[(String, Vec<usize>)],
        opt: &[(String, Vec<usize>)],
        max: &[(String, Vec<usize>)],
    ) -> Result<Profile> {
        let find = |list: &[(String, Vec<usize>)], name: &str| {
            list.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone())
        };
        let mut inputs: Vec<InputProfile> = shapes
            .iter()
            .map(|(n, d)| InputProfile::fixed(n, d.clone()))
            .collect();
        let mut ranged: Vec<&str> = vec![];
        for (n, _) in min.iter().chain(opt).chain(max) {
            if !ranged.contains(&n.as_str()) {
                ranged.push(n);
            }
        }
        for name in ranged {
            if find(shapes, name).is_some() {
                return Err(Error::Input(format!(
                    "input '{name}' is in --shapes and in --min/--opt/--max-shapes: give one fixed shape or a range"
                )));
            }
            let need = |list, flag: &str| {
                find(list, name).ok_or_else(|| {
                    Error::Input(format!(
                        "input '{name}' has no {flag}: a range needs --min-shapes and --max-shapes \
                         (--opt-shapes defaults to the max)"
                    ))
                })
            };
            let (lo, hi) = (need(min, "--min-shapes")?, need(max, "--max-shapes")?);
            let mid = find(opt, name).unwrap_or_else(|| hi.clone());
            inputs.push(InputProfile {
                name: name.to_string(),
                min: lo,
                opt: mid,
                max: hi,
            });
        }
        for p in &inputs {
            p.check_order()?;
        }
        Ok(Profile { inputs })
    }

    pub fn input(&self, name: &str) -> Option<&InputProfile> {
        self.inputs.iter().find(|p| p.name == name)
    }

    /// Checks the profile against what the model declares: every name is an input, ranks match,
    /// and a dim the model fixes is not given another value.
    pub fn validate(&self, model: &Model) -> Result<()> {
        let g = &model.graph;
        let infos: Vec<_> = g.inputs.iter().map(|&v| g.value(v).clone()).collect();
        for p in &self.inputs {
            p.check_order()?;
            let Some(info) = infos.iter().find(|i| i.name == p.name) else {
                return Err(Error::Input(format!(
                    "the shape profile names '{}', which is not an input; the model needs: {}",
                    p.name,
                    describe_inputs(&infos)
                )));
            };
            let Some(decl) = &info.shape else { continue };
            if decl.len() != p.min.len() {
                return Err(Error::Input(format!(
                    "input '{}' is {} (rank {}), but the profile gives rank {} ({})",
                    p.name,
                    info.describe(),
                    decl.len(),
                    p.min.len(),
                    format_dims(&p.max)
                )));
            }
            for (i, d) in decl.iter().enumerate() {
                let Dim::Fixed(f) = d else { continue };
                for (what, dims) in [("min", &p.min), ("opt", &p.opt), ("max", &p.max)] {
                    if dims[i] != *f {
                        return Err(Error::Input(format!(
                            "input '{}' dim {i} is fixed at {f} by the model ({}), \
                             but the profile's {what} shape {} has {}",
                            p.name,
                            info.describe(),
                            format_dims(dims),
                            dims[i]
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// The build options that give this profile: ` --shapes x:1x3 --min-shapes ...`.
    pub fn to_flags(&self) -> String {
        let list = |f: &dyn Fn(&InputProfile) -> Option<&Vec<usize>>| {
            let items = self
                .inputs
                .iter()
                .filter_map(|p| f(p).map(|d| format!("{}:{}", p.name, format_dims(d))));
            items.collect::<Vec<_>>()
        };
        let mut s = String::new();
        for (flag, items) in [
            ("--shapes", list(&|p| p.is_fixed().then_some(&p.min))),
            ("--min-shapes", list(&|p| (!p.is_fixed()).then_some(&p.min))),
            ("--opt-shapes", list(&|p| (!p.is_fixed()).then_some(&p.opt))),
            ("--max-shapes", list(&|p| (!p.is_fixed()).then_some(&p.max))),
        ] {
            if !items.is_empty() {
                s += &format!(" {flag} {}", items.join(","));
            }
        }
        s
    }
}

/// Checks run-time input shapes against a plan's profiles: they must fit one profile entirely. No
/// profiles accepts anything. The error is the first profile's.
pub fn check_profiles(profiles: &[Profile], inputs: &[(&str, &[usize])]) -> Result<()> {
    let fits = |p: &Profile| -> Result<()> {
        for (name, shape) in inputs {
            if let Some(ip) = p.input(name) {
                ip.check(shape)?;
            }
        }
        Ok(())
    };
    let Some(first) = profiles.first() else {
        return Ok(());
    };
    if profiles[1..].iter().any(|p| fits(p).is_ok()) {
        return Ok(());
    }
    fits(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(flag: &str, s: &str) -> Vec<(String, Vec<usize>)> {
        parse_shape_list(flag, s).unwrap()
    }

    #[test]
    fn parses_trtexec_shape_lists() {
        assert_eq!(
            list("--shapes", "x:1x3x224x224,input:0:4,s:"),
            vec![
                ("x".into(), vec![1, 3, 224, 224]),
                ("input:0".into(), vec![4]),
                ("s".into(), vec![])
            ]
        );
        let e = parse_shape_list("--shapes", "x:1xAx2")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--shapes 'x:1xAx2': 'A' is not a dimension");
        let e = parse_shape_list("--min-shapes", "x:1,x:2")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "--min-shapes names input 'x' twice");
    }

    #[test]
    fn ranges_need_min_and_max_in_order() {
        let p = Profile::from_flags(
            &list("s", "a:2"),
            &list("m", "x:1x3"),
            &[],
            &list("M", "x:8x3"),
        )
        .unwrap();
        assert_eq!(p.inputs[0], InputProfile::fixed("a", vec![2]));
        assert_eq!(
            p.inputs[1],
            InputProfile {
                name: "x".into(),
                min: vec![1, 3],
                opt: vec![8, 3],
                max: vec![8, 3]
            }
        );
        assert_eq!(
            p.to_flags(),
            " --shapes a:2 --min-shapes x:1x3 --opt-shapes x:8x3 --max-shapes x:8x3"
        );
        let e = Profile::from_flags(&[], &[], &[], &list("M", "x:8"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("input 'x' has no --min-shapes"), "{e}");
        let e = Profile::from_flags(&[], &list("m", "x:4"), &list("o", "x:2"), &list("M", "x:8"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "input 'x' dim 0: needs min ≤ opt ≤ max, got min 4, opt 2, max 8"
        );
        let e = Profile::from_flags(&list("s", "x:4"), &list("m", "x:4"), &[], &list("M", "x:8"))
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("in --shapes and in --min/--opt/--max-shapes"),
            "{e}"
        );
    }

    #[test]
    fn run_time_checks_say_how_to_rebuild() {
        let ip = InputProfile {
            name: "x".into(),
            min: vec![1, 3],
            opt: vec![4, 3],
            max: vec![8, 3],
        };
        ip.check(&[8, 3]).unwrap();
        let e = ip.check(&[16, 3]).unwrap_err().to_string();
        assert_eq!(e, "input 'x' dim 0 is 16, the plan's profile allows 1..8; rebuild with --max-shapes x:16x3");
        let e = ip.check(&[4, 2]).unwrap_err().to_string();
        assert_eq!(e, "input 'x' dim 1 is 2, the plan's profile allows only 3; rebuild with --min-shapes x:1x2");
        let fixed = InputProfile::fixed("x", vec![1, 3]);
        let e = fixed.check(&[2, 3]).unwrap_err().to_string();
        assert_eq!(
            e,
            "input 'x' dim 0 is 2, the plan's profile allows only 1; rebuild with --shapes x:2x3"
        );
        let two = vec![
            Profile {
                inputs: vec![fixed],
            },
            Profile { inputs: vec![ip] },
        ];
        check_profiles(&two, &[("x", &[5, 3])]).unwrap();
        assert!(check_profiles(&two, &[("x", &[9, 3])]).is_err());
        check_profiles(&[], &[("x", &[9, 3])]).unwrap();
    }
}
