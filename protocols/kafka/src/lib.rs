//! Kafka front end (see README).
