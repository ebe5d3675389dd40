use std::fmt;

/// An argument the kernels cannot run with. The binding turns it into a JS `Error`.
#[derive(Debug, Clone, PartialEq)]
pub struct HlaError {
    pub arg: &'static str,
    pub expected: String,
    pub actual: String,
}

impl HlaError {
    pub fn new(arg: &'static str, expected: impl Into<String>, actual: impl fmt::Display) -> Self {
        HlaError {
            arg,
            expected: expected.into(),
            actual: actual.to_string(),
        }
    }
}

/// `ensure!(cond, arg, expected, actual)`: returns `Err(HlaError::new(arg, expected, actual))`
/// from the enclosing function unless `cond` holds (every argument check of the operators).
macro_rules! ensure {
    ($cond:expr, $arg:expr, $expected:expr, $actual:expr $(,)?) => {
        if !$cond {
            return Err($crate::error::HlaError::new($arg, $expected, $actual));
        }
    };
}
pub(crate) use ensure;

impl fmt::Display for HlaError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.arg, self.expected, self.actual
        )
    }
}

impl std::error::Error for HlaError {}
