package bolt

// SetMigrateHook sets the function called after each step of the
// migration to schema version 4 (nil: none).
func SetMigrateHook(hook func(step string) error) { migrateHook = hook }
