//! Notification channels (placeholder until the notifiers land).
