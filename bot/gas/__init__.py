"""Gas customers: accounts bound with a second factor, bills, readings, faults, reminders."""
