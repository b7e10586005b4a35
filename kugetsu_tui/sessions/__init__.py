"""The session record: kugetsu's files, their states and activities, the index, the count and the cap."""
