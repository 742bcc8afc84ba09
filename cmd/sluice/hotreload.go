package main

import (
	"fmt"
	"log/slog"

	"github.com/sluice-dev/sluice/internal/hotreload"
)

// hotReloadRoot is the root of --hot-reload-root, nil (hot reload off)
// without the flag.
func hotReloadRoot(cfg Config, logger *slog.Logger) (*hotreload.Root, error) {
	if cfg.HotReloadRoot == "" {
		return nil, nil
	}
	root, err := hotreload.NewRoot(cfg.HotReloadRoot)
	if err != nil {
		return nil, fmt.Errorf("--hot-reload-root: %w", err)
	}
	logger.Info("hot reload on: functions may run from directories under the root, read-only", "root", root.Dir())
	return root, nil
}
