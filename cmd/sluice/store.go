package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/bolt"
)

const storeUsage = `Usage:
  sluice store check   [--data-dir DIR] [--file FILE]
  sluice store backup  [--data-dir DIR] --to FILE
  sluice store restore [--data-dir DIR] --from FILE
  sluice store repair  [--data-dir DIR]

The store is DIR/sluice.db, the functions, versions, aliases and URLs the
server keeps (their code is in DIR/code). The server refuses to start on a
store that is not whole; these commands say what is wrong and put a whole
store back. The server holds the store's lock while it runs: stop it
before backup, restore or repair (check says so if it runs).

  check    checks the store (or the backup FILE) without changing it:
           both meta pages, every page, bbolt's consistency check and the
           schema. Exit status 0: whole; 1: not whole (what is wrong is
           printed); 3: could not check (the server runs, no --file).
           A data dir without a store yet is fine (exit 0).
  backup   writes a consistent, checked copy of the store to FILE. A
           running server makes its own backups: serve --backup-dir DIR
           (at start, every --backup-interval, and at once on SIGUSR1).
  restore  checks the backup FILE, then puts a copy of it in place of the
           store. The store file that was there is kept, renamed to
           DIR/sluice.db.broken-TIME: nothing is overwritten.
  repair   rewrites a store whose only damage is one corrupt meta page
           from the other one, keeping the damaged file aside. The last
           transaction before the damage may be lost: prefer restoring a
           recent backup. Other damage cannot be repaired: restore.
`

// storePath is the store file of a data dir.
func storePath(dataDir string) string { return filepath.Join(dataDir, "sluice.db") }

// storeCommand is `sluice store check|backup|restore|repair`.
func storeCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, storeUsage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fs := newFlagSet("store", stderr)
		fs.String("data-dir", DefaultConfig().DataDir, "the server's data directory (as for serve)")
		printHelp(stdout, storeUsage, fs)
		return 0
	case "check", "backup", "restore", "repair":
	default:
		fmt.Fprintf(stderr, "sluice store: unknown command %q\n\n%s", args[0], storeUsage)
		return 2
	}
	sub := args[0]
	fset := newFlagSet("store "+sub, stderr)
	dataDir := fset.String("data-dir", DefaultConfig().DataDir, "the server's data directory (as for serve)")
	var file, to, from *string
	switch sub {
	case "check":
		file = fset.String("file", "", "check this store file (a backup) instead of the data dir's")
	case "backup":
		to = fset.String("to", "", "the backup file to write")
	case "restore":
		from = fset.String("from", "", "the backup file to restore")
	}
	if code, ok := parseFlags(fset, args[1:], storeUsage, stdout, stderr); !ok {
		return code
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice store %s: unexpected argument %q\n", sub, fset.Arg(0))
		return 2
	}
	path := storePath(*dataDir)
	switch sub {
	case "check":
		if *file != "" {
			path = *file
		} else if err := lostStore(*dataDir); err != nil {
			fmt.Fprintf(stderr, "sluice: %s: NOT WHOLE\n  %v\n%s", path, err, wayOut(*dataDir))
			return 1
		}
		rep, err := bolt.Check(path)
		if errors.Is(err, bolt.ErrNotWhole) {
			fmt.Fprintf(stderr, "sluice: %s: NOT WHOLE\n", path)
			var ce *bolt.CheckError
			if errors.As(err, &ce) {
				for _, p := range ce.Problems {
					fmt.Fprintf(stderr, "  %s\n", p)
				}
			}
			if *file == "" {
				fmt.Fprint(stderr, wayOut(*dataDir))
			}
			return 1
		}
		if errors.Is(err, os.ErrNotExist) && *file == "" {
			fmt.Fprintf(stdout, "%s: no store yet (a new data dir: serve creates it)\n", path)
			return 0
		}
		if err != nil {
			fmt.Fprintf(stderr, "sluice: could not check %s: %v\n", path, err)
			return 3
		}
		fmt.Fprintf(stdout, "%s: whole: %s\n", path, describe(rep))
		return 0
	case "backup":
		if *to == "" {
			fmt.Fprintf(stderr, "sluice store backup: --to FILE is required\n")
			return 2
		}
		rep, err := bolt.BackupFile(path, *to)
		if err != nil {
			fmt.Fprintf(stderr, "sluice: backup: %v\n", err)
			if strings.Contains(err.Error(), "in use by another sluice") {
				fmt.Fprintf(stderr, "A running server holds the store: it backs itself up with serve --backup-dir DIR, and at once on SIGUSR1 (kill -USR1 PID).\n")
			}
			return 1
		}
		fmt.Fprintf(stdout, "backed up %s to %s: %s\n", path, *to, describe(rep))
		return 0
	case "restore":
		if *from == "" {
			fmt.Fprintf(stderr, "sluice store restore: --from FILE is required\n")
			return 2
		}
		aside, rep, err := bolt.Restore(path, *from)
		if err != nil {
			fmt.Fprintf(stderr, "sluice: restore: %v\n", err)
			return 1
		}
		if aside != "" {
			fmt.Fprintf(stdout, "kept the store that was there as %s\n", aside)
		}
		fmt.Fprintf(stdout, "restored %s from %s: %s\n", path, *from, describe(rep))
		return 0
	default: // repair
		aside, rep, err := bolt.Repair(path)
		if err != nil {
			fmt.Fprintf(stderr, "sluice: repair: %v\n", err)
			if errors.Is(err, bolt.ErrNotWhole) {
				fmt.Fprintf(stderr, "Only one corrupt meta page can be repaired: restore a backup (sluice store restore --data-dir %s --from FILE).\n", *dataDir)
			}
			return 1
		}
		if aside == "" {
			fmt.Fprintf(stdout, "%s is whole: nothing to repair (%s)\n", path, describe(rep))
			return 0
		}
		fmt.Fprintf(stdout, "repaired %s from its whole meta page: %s\nkept the damaged file as %s\n", path, describe(rep), aside)
		return 0
	}
}

func describe(rep *bolt.Report) string {
	if rep.Size == 0 {
		return "no store yet (a new data dir)"
	}
	return fmt.Sprintf("%d functions, schema %d, transaction %d, %d pages of %d bytes, %d bytes (checked in %s)",
		rep.Functions, rep.Schema, rep.TxID, rep.Pages, rep.PageSize, rep.Size, rep.Took.Round(10*time.Microsecond))
}

// wayOut is what to do about a store that is not whole.
func wayOut(dataDir string) string {
	return fmt.Sprintf(`The server does not start on a store that is not whole. The way out (sluice help store):
  sluice store check   --data-dir %[1]s              says what is wrong
  sluice store restore --data-dir %[1]s --from FILE  puts a backup in place, keeping this file aside
  sluice store repair  --data-dir %[1]s              only when one meta page is corrupt (may lose the last transaction)
`, dataDir)
}

// lostStore says why the data dir's store is lost when its file is
// missing or empty although the dir holds function code: a data dir of a
// sluice that wrote no marker yet (bolt.Open writes one) whose store file
// went missing. nil otherwise.
func lostStore(dataDir string) error {
	path := storePath(dataDir)
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		return nil
	}
	if _, err := os.Stat(bolt.MarkerPath(path)); err == nil {
		return nil // bolt.Open and bolt.Check say so themselves
	}
	entries, _ := os.ReadDir(filepath.Join(dataDir, "code", "zip"))
	if len(entries) == 0 {
		return nil
	}
	return fmt.Errorf("%w: the store file %s is missing or empty, but %s holds the code of %d deployment packages: a store was here and its functions would all vanish",
		bolt.ErrNotWhole, path, filepath.Join(dataDir, "code"), len(entries))
}

// openStore opens the data dir's store for serve, refusing one that is
// not whole with the way out. The functions of a store from before
// namespaces move into scope, the default one.
func openStore(dataDir string, scope sluice.Scope) (*bolt.Store, error) {
	if err := lostStore(dataDir); err != nil {
		return nil, fmt.Errorf("%v\n%s", err, wayOut(dataDir))
	}
	store, err := bolt.Open(storePath(dataDir), scope)
	if errors.Is(err, bolt.ErrNotWhole) {
		return nil, fmt.Errorf("%v\n%s", err, wayOut(dataDir))
	}
	return store, err
}

// backups are serve's periodic backups of the store.
type backups struct {
	store    *bolt.Store
	dir      string
	interval time.Duration
	keep     int
	log      *slog.Logger
}

// run backs the store up at once, then every interval and on SIGUSR1,
// keeping the newest keep backups, until ctx ends.
func (b *backups) run(ctx context.Context) {
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	tick := time.NewTicker(b.interval)
	defer tick.Stop()
	for {
		b.once()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-usr1:
		}
	}
}

// backupPrefix and backupSuffix frame the names of serve's backups, which
// sort in time order.
const backupPrefix, backupSuffix = "sluice-", ".db"

func (b *backups) once() {
	dst := filepath.Join(b.dir, backupPrefix+time.Now().UTC().Format("20060102T150405.000Z")+backupSuffix)
	rep, err := b.store.Backup(dst)
	if err != nil {
		b.log.Error("store backup failed", "err", err)
		return
	}
	b.log.Info("store backed up", "file", dst, "functions", rep.Functions, "bytes", rep.Size, "took", rep.Took.Round(10*time.Microsecond))
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		b.log.Warn("listing store backups", "err", err)
		return
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, backupPrefix) && strings.HasSuffix(n, backupSuffix) && e.Type().IsRegular() {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for len(names) > b.keep {
		if err := os.Remove(filepath.Join(b.dir, names[0])); err != nil {
			b.log.Warn("removing an old store backup", "err", err)
		}
		names = names[1:]
	}
}
