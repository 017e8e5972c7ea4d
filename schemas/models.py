"""Schema registry models (subjects, versions, global schema ids) arrive with the registry issue."""
