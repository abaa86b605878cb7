//! One error type for the library: every failure names what went wrong.
use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// The model configuration is invalid.
    Config(String),
    /// A weights file is unreadable, corrupt or does not match the model.
    Weights(String),
    /// Input data of the wrong size or kind.
    Input(String),
    /// No usable GPU adapter/device, or a GPU operation failed.
    Gpu(String),
    /// A buffer or dispatch would exceed an adapter limit.
    Limit(String),
    /// A non-finite value where a finite one is required.
    NonFinite(String),
    /// A CPU job would need more memory than is available ([`crate::memory`]).
    Memory(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m) => write!(f, "invalid config: {m}"),
            Error::Weights(m) => write!(f, "bad weights: {m}"),
            Error::Input(m) => write!(f, "bad input: {m}"),
            Error::Gpu(m) => write!(f, "GPU error: {m}"),
            Error::Limit(m) => write!(f, "adapter limit exceeded: {m}"),
            Error::NonFinite(m) => write!(f, "non-finite value: {m}"),
            Error::Memory(m) => write!(f, "not enough memory: {m}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
