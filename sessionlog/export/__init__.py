"""What leaves the log for elsewhere: the handoff brief and OpenTelemetry traces."""
