package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchDebounce is how long deploy --watch waits after a change for the
// next one before it deploys: an editor's save or a checkout is several
// events.
const watchDebounce = 300 * time.Millisecond

// watch deploys DIR, then again after each change below it, until ctx
// ends (exit 0). A failed deploy is reported and the watch goes on: the
// next change may fix it.
func (d *deployer) watch(ctx context.Context) int {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		fmt.Fprintf(d.stderr, "sluice deploy: watching %s: %v\n", d.opts.dir, err)
		return 1
	}
	defer w.Close()
	if err := d.watchTree(w, d.opts.dir); err != nil {
		fmt.Fprintf(d.stderr, "sluice deploy: watching %s: %v\n", d.opts.dir, err)
		return 1
	}
	d.deployOnce(ctx)
	if ctx.Err() != nil {
		return 0
	}
	d.out.line(fmt.Sprintf("watching %s (interrupt to stop)", d.opts.dir))
	var (
		timer   *time.Timer
		fire    <-chan time.Time
		changed string
	)
	for {
		select {
		case <-ctx.Done():
			return 0
		case ev, ok := <-w.Events:
			if !ok {
				return 0
			}
			if !d.relevant(ev) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				// A new directory: watch it and what it already holds.
				_ = d.watchTree(w, ev.Name)
			}
			if changed == "" {
				changed, _ = filepath.Rel(d.opts.dir, ev.Name)
			}
			if timer == nil {
				timer = time.NewTimer(watchDebounce)
			} else {
				timer.Reset(watchDebounce)
			}
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return 0
			}
			fmt.Fprintf(d.stderr, "sluice deploy: watching %s: %v\n", d.opts.dir, err)
		case <-fire:
			fire = nil
			d.out.line("changed: " + changed)
			changed = ""
			d.deployOnce(ctx)
			if ctx.Err() != nil {
				return 0
			}
		}
	}
}

// deployOnce deploys, reporting a failure (but not an interruption) to
// stderr.
func (d *deployer) deployOnce(ctx context.Context) {
	if err := d.deploy(ctx); err != nil {
		d.out.clear()
		if ctx.Err() == nil {
			fmt.Fprintf(d.stderr, "sluice deploy: %v\n", err)
		}
	}
}

// relevant reports whether an event is a change of the function's
// source: not a change of permissions only, of an editor's temporary
// file, below .git, or of go.sum (which go build itself may write).
func (d *deployer) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	name := filepath.Base(ev.Name)
	if isEditorTemp(name) || skipDir(name) || name == "go.sum" {
		return false
	}
	rel, err := filepath.Rel(d.opts.dir, ev.Name)
	if err != nil {
		return false
	}
	for dir := filepath.Dir(rel); dir != "." && dir != "/"; dir = filepath.Dir(dir) {
		if skipDir(filepath.Base(dir)) {
			return false
		}
	}
	return true
}

// watchTree watches root and the directories below it, except skipDir's;
// of node_modules only the directory itself (a package added or removed),
// not the thousands below it.
func (d *deployer) watchTree(w *fsnotify.Watcher, root string) error {
	return filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil
		}
		if !e.IsDir() {
			return nil
		}
		if path != root && skipDir(e.Name()) {
			return filepath.SkipDir
		}
		if err := w.Add(path); err != nil {
			if path == root {
				return err
			}
			if errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipDir
			}
			fmt.Fprintf(d.stderr, "sluice deploy: not watching %s: %v\n", path, err)
			return filepath.SkipDir
		}
		if e.Name() == "node_modules" {
			return filepath.SkipDir
		}
		return nil
	})
}
