//! Broadcasting helpers.
