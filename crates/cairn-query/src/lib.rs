//! cairn-query
