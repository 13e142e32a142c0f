"""Built-in notifiers: recording (tests), logging, SMTP, webhook."""
