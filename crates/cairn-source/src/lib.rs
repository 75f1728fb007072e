//! cairn-source
