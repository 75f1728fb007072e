//! cairn-gen
