package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tamas-cc/tamas/crm/contactcsv"
)

func cmdContacts(ctx context.Context, configPath string, args []string, e env) error {
	return subcommand(ctx, "contacts", configPath, args, e, map[string]func(context.Context, string, []string, env) error{
		"import": cmdImport, "export": cmdExport})
}

func cmdImport(ctx context.Context, configPath string, args []string, e env) error {
	fs := flag.NewFlagSet("contacts import", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	partial := fs.Bool("partial", false, "keep the good rows when some rows fail (default: all or nothing)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("contacts import [-partial] FILE")
	}
	var in io.Reader
	var size int64
	if name := fs.Arg(0); name == "-" {
		in = e.stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		in = f
	}
	_, dir, err := openDirectory(ctx, configPath, e)
	if err != nil {
		return err
	}
	defer dir.Store().Close()
	bar := newProgress(e, "import", size)
	sum, err := contactcsv.Import(ctx, dir, in, contactcsv.Options{
		Partial:  *partial,
		Progress: func(p contactcsv.Progress) { bar.set(p.Bytes) },
	})
	bar.done()
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	for _, re := range sum.Errors {
		fmt.Fprintf(w, "line %d: %s: %s\n", re.Line, re.Column, re.Reason)
	}
	if sum.ErrorsTruncated > 0 {
		fmt.Fprintf(w, "… and %d more row errors\n", sum.ErrorsTruncated)
	}
	// Duplicates are expected on a re-import; list a few, count the rest.
	const showDuplicates = 20
	for i, d := range sum.DuplicateRows {
		if i == showDuplicates {
			break
		}
		fmt.Fprintf(w, "line %d: %s: duplicate of contact %d (%s)\n", d.Line, d.Column, d.ExistingID, d.Value)
	}
	if more := sum.Duplicates - min(len(sum.DuplicateRows), showDuplicates); more > 0 {
		fmt.Fprintf(w, "… and %d more duplicates\n", more)
	}
	fmt.Fprintf(w, "rows %d, created %d, duplicates %d, failed %d, organizations created %d, in %s",
		sum.Rows, sum.Created, sum.Duplicates, sum.Failed, sum.Organizations, sum.Duration.Round(time.Millisecond))
	if sum.Duration > 0 {
		fmt.Fprintf(w, " (%.0f rows/s)", float64(sum.Rows)/sum.Duration.Seconds())
	}
	fmt.Fprintln(w)
	if err != nil {
		return err
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d rows failed (kept the %d good ones)", sum.Failed, sum.Created)
	}
	return nil
}

func cmdExport(ctx context.Context, configPath string, args []string, e env) error {
	fs := flag.NewFlagSet("contacts export", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("contacts export FILE (- for standard output)")
	}
	_, dir, err := openDirectory(ctx, configPath, e)
	if err != nil {
		return err
	}
	defer dir.Store().Close()
	out := e.stdout
	var f *os.File
	if name := fs.Arg(0); name != "-" {
		// Write beside the target and rename, so a failed export never
		// leaves a truncated file where a good one was.
		f, err = os.CreateTemp(filepath.Dir(name), ".tamas-export-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		out = f
	}
	bw := bufio.NewWriterSize(out, 1<<16)
	n, err := contactcsv.Export(ctx, dir.Store(), bw)
	if err == nil {
		err = bw.Flush()
	}
	if f != nil {
		err = errors.Join(err, f.Sync(), f.Close())
		if err == nil {
			err = os.Rename(f.Name(), fs.Arg(0))
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "exported %d contacts\n", n)
	return nil
}
